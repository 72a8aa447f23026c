/* Live updates of a message thread (patient portal and workspace alike).
 *
 * The page works without this file: it is rendered whole by the server. This only fetches the
 * messages that arrive while the page is open, as HTML from the server (the page's own
 * template, audited like the page), when the real-time feed (static/portal/live-feed.js) says
 * the thread changed, or when the feed lost track and the page must catch up.
 */
(function () {
  "use strict";

  var list = document.getElementById("messages");
  if (!list || !window.fetch || !window.CareCoreFeed) {
    return;
  }
  var threadId = list.getAttribute("data-thread");
  var updatesUrl = list.getAttribute("data-updates-url");
  var statusRegion = document.getElementById("live-status");
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

  // The feed's position when the server rendered the page: resume right after it.
  window.CareCoreFeed.follow({
    seq: parseInt(list.getAttribute("data-feed-seq") || "", 10),
    onEvent: function (event) {
      if (isAboutThisThread(event)) {
        refresh();
      }
    },
    onReset: refresh,
  });
})();
