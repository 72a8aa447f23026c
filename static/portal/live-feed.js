/* The real-time feed for server-rendered pages (docs/realtime.md): one small client shared by
 * the live pages (static/portal/live-thread.js, static/staff/live-inbox.js).
 *
 *   CareCoreFeed.follow({seq: <the feed's seq when the page was rendered, or null>,
 *                        onEvent: function (event) {...},   // each new event, in order, once
 *                        onReset: function () {...}});      // re-fetch what the page shows
 *
 * - a ticket (POST /api/v1/realtime/tickets/, CSRF header) opens /ws/events/; events are kept in
 *   order by `seq`, duplicates dropped; on a close the socket is reopened with `?after=<seq>`
 *   (backoff up to a minute) so nothing is missed;
 * - while the socket is down, the events list (GET /api/v1/events/?after=<seq>) is polled
 *   every 10 s instead, and before the first `seq` is known, `onReset` is called instead;
 * - a socket silent for two heartbeats is treated as dead;
 * - when the feed no longer keeps the page's range (410, close 4410), `onReset`.
 *
 * Events carry ids and status words only: the page fetches what changed as HTML from the
 * server, audited like the page itself.
 */
(function () {
  "use strict";

  var POLL_MS = 10000;
  var SILENCE_MS = 60000;
  var MAX_BACKOFF_MS = 60000;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function follow(options) {
    var seq = typeof options.seq === "number" && !isNaN(options.seq) ? options.seq : null;
    var socket = null;
    var backoff = 1000;
    var pollTimer = null;
    var watchdog = null;

    function handle(event) {
      if (typeof event.seq === "number") {
        if (seq !== null && event.seq <= seq) {
          return; // already seen
        }
        seq = event.seq;
      }
      options.onEvent(event);
    }

    function poll() {
      if (seq === null) {
        options.onReset();
        return;
      }
      fetch("/api/v1/events/?after=" + seq + "&page_size=200", {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          if (response.status === 410) {
            seq = null; // the range is gone: reload what the page shows
            options.onReset();
            return null;
          }
          return response.ok ? response.json() : null;
        })
        .then(function (page) {
          if (page && page.results) {
            page.results.forEach(handle);
          }
        })
        .catch(function () {});
    }

    function startPolling() {
      if (pollTimer === null) {
        pollTimer = window.setInterval(poll, POLL_MS);
      }
    }

    function stopPolling() {
      if (pollTimer !== null) {
        window.clearInterval(pollTimer);
        pollTimer = null;
      }
    }

    function heard() {
      if (watchdog !== null) {
        window.clearTimeout(watchdog);
      }
      watchdog = window.setTimeout(function () {
        if (socket) {
          socket.close();
        }
      }, SILENCE_MS);
    }

    function retryLater() {
      startPolling();
      window.setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }

    function connect() {
      if (!("WebSocket" in window)) {
        startPolling();
        return;
      }
      fetch("/api/v1/realtime/tickets/", {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("no ticket");
          }
          return response.json();
        })
        .then(function (body) {
          var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
          var url = scheme + window.location.host + "/ws/events/";
          if (seq !== null) {
            url += "?after=" + seq;
          }
          socket = new WebSocket(url, ["carecore.v1", "ticket." + body.ticket]);
          socket.onmessage = function (message) {
            heard();
            var event = JSON.parse(message.data);
            if (event.type === "ready") {
              backoff = 1000;
              stopPolling();
              if (seq === null) {
                seq = event.data.seq;
                options.onReset(); // whatever arrived between the page's render and now
              }
              return;
            }
            if (event.type !== "heartbeat") {
              handle(event);
            }
          };
          socket.onclose = function (close) {
            socket = null;
            if (close.code === 4410) {
              seq = null;
              options.onReset();
            }
            retryLater();
          };
        })
        .catch(retryLater);
    }

    connect();
  }

  window.CareCoreFeed = { follow: follow };
})();
