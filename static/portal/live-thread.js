/* Live updates of a message thread from the real-time feed (docs/realtime.md).
 *
 * The page works without this file: it is rendered whole by the server. This only fetches the
 * messages that arrive while the page is open, as HTML from the server (the page's own
 * template, audited like the page), when the feed says the thread changed:
 *
 * - a ticket (POST /api/v1/realtime/tickets/, CSRF header) opens /ws/events/; events are kept in
 *   order by `seq`, duplicates dropped; on a close the socket is reopened with `?after=<seq>`
 *   (backoff up to a minute) so nothing is missed;
 * - while the socket is down, the events list (GET /api/v1/events/?after=<seq>) is polled
 *   every 10 s instead, and before the first `seq` is known, the thread itself;
 * - a socket silent for two heartbeats is treated as dead.
 */
(function () {
  "use strict";

  var list = document.getElementById("messages");
  if (!list || !window.fetch) {
    return;
  }
  var threadId = list.getAttribute("data-thread");
  var updatesUrl = list.getAttribute("data-updates-url");
  var statusRegion = document.getElementById("live-status");
  var tokenMeta = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = tokenMeta ? tokenMeta.getAttribute("content") : "";

  var POLL_MS = 10000;
  var SILENCE_MS = 60000;
  var MAX_BACKOFF_MS = 60000;

  // The feed's position when the server rendered the page: resume right after it.
  var renderedAt = parseInt(list.getAttribute("data-feed-seq") || "", 10);
  var seq = isNaN(renderedAt) ? null : renderedAt;
  var socket = null;
  var backoff = 1000;
  var pollTimer = null;
  var watchdog = null;
  var fetching = false;
  var fetchAgain = false;

  function lastPosition() {
    var items = list.querySelectorAll("li[data-position]");
    return items.length ? items[items.length - 1].getAttribute("data-position") : "0";
  }

  function announce(text) {
    if (statusRegion) {
      statusRegion.textContent = text;
    }
  }

  function refresh() {
    if (fetching) {
      fetchAgain = true;
      return;
    }
    fetching = true;
    fetch(updatesUrl + "?after=" + encodeURIComponent(lastPosition()), {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
    })
      .then(function (response) {
        return response.ok ? response.text() : "";
      })
      .then(function (html) {
        if (html.trim()) {
          list.insertAdjacentHTML("beforeend", html);
          announce("New message in this conversation.");
        }
      })
      .catch(function () {})
      .then(function () {
        fetching = false;
        if (fetchAgain) {
          fetchAgain = false;
          refresh();
        }
      });
  }

  function isAboutThisThread(event) {
    return (
      event.data &&
      event.data.thread_id === threadId &&
      (event.type === "message.created" || event.type === "thread.updated")
    );
  }

  function handle(event) {
    if (typeof event.seq === "number") {
      if (seq !== null && event.seq <= seq) {
        return; // already seen
      }
      seq = event.seq;
    }
    if (isAboutThisThread(event)) {
      refresh();
    }
  }

  function poll() {
    if (seq === null) {
      refresh();
      return;
    }
    fetch("/api/v1/events/?after=" + seq + "&page_size=200", {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (response.status === 410) {
          seq = null; // the range is gone: reload what the page shows
          refresh();
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
      headers: { "X-CSRFToken": csrfToken, Accept: "application/json" },
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
              refresh(); // whatever arrived between the page's render and now
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
            refresh();
          }
          retryLater();
        };
      })
      .catch(retryLater);
  }

  connect();
})();
