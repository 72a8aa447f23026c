/* The inbox, live (docs/web-portal.md, "Care-team workspace").
 *
 * The page works without this file. With it:
 * - when the real-time feed (static/portal/live-feed.js) says a thread changed (a new message,
 *   a new urgent triage, a claim, an assignment, a close), the list is fetched again from the
 *   server (same filter, page, order and audit as the page) and swapped in, keeping the focus
 *   on the row it was on; a new thread is announced to screen readers;
 * - the first-response clocks count down between fetches;
 * - after an in-place action (htmx swaps the row), the focus stays in that row.
 * Fetches are coalesced: one at a time, at most one every MIN_GAP_MS, so a burst of events costs
 * one or two fetches, not one each.
 */
(function () {
  "use strict";

  var region = document.getElementById("inbox");
  if (!region || !window.fetch) {
    return;
  }
  var statusRegion = document.getElementById("live-status");
  var listUrl = region.getAttribute("data-list-url");
  var MIN_GAP_MS = 1500;
  var CLOCK_TICK_MS = 30000;

  var fetching = false;
  var wanted = false;
  var lastFetchAt = 0;
  var timer = null;

  function announce(text) {
    if (statusRegion) {
      statusRegion.textContent = "";
      window.setTimeout(function () {
        statusRegion.textContent = text;
      }, 50);
    }
  }

  function rows() {
    return Array.prototype.slice.call(region.querySelectorAll("tr[id^='thread-']"));
  }

  function focusables(row) {
    return Array.prototype.slice.call(row.querySelectorAll("a[href], button, select"));
  }

  /* Where the focus is, as "row id + n-th control of the row", to put it back after a swap. */
  function focusSpot() {
    var active = document.activeElement;
    var row = active && active.closest ? active.closest("tr[id^='thread-']") : null;
    if (!row || !region.contains(row)) {
      return null;
    }
    return { rowId: row.id, index: focusables(row).indexOf(active), position: rows().indexOf(row) };
  }

  function restoreFocus(spot) {
    if (!spot) {
      return;
    }
    var row = document.getElementById(spot.rowId);
    if (!row) {
      // The thread left this list (closed, or claimed in "Unassigned"): stay near its place.
      var all = rows();
      row = all[Math.min(spot.position, all.length - 1)];
      if (!row) {
        return;
      }
      spot.index = 0;
      announce("The thread you were on left this list.");
    }
    var controls = focusables(row);
    var target = controls[spot.index] || controls[0];
    if (target) {
      target.focus({ preventScroll: true });
    }
  }

  function busy() {
    // Never swap the list under an open select (the user is picking an assignee).
    var active = document.activeElement;
    return active && active.tagName === "SELECT" && region.contains(active);
  }

  function swap(html) {
    var before = {};
    rows().forEach(function (row) {
      before[row.id] = true;
    });
    var spot = focusSpot();
    region.innerHTML = html;
    restoreFocus(spot);
    tickClocks();
    var added = rows().filter(function (row) {
      return !before[row.id];
    });
    if (added.length) {
      var urgent = added.filter(function (row) {
        return row.classList.contains("inbox__row--urgent");
      }).length;
      announce(
        added.length +
          (added.length === 1 ? " new thread" : " new threads") +
          (urgent ? " (" + urgent + " urgent, at the top)" : "") +
          " in the inbox."
      );
    }
    region.dispatchEvent(new CustomEvent("inbox:updated", { bubbles: true }));
    if (window.htmx) {
      window.htmx.process(region); // the new rows' hx-post forms
    }
  }

  function refresh() {
    wanted = true;
    if (fetching || timer !== null) {
      return;
    }
    if (busy()) {
      return; // picked up on the select's blur
    }
    var wait = Math.max(0, lastFetchAt + MIN_GAP_MS - Date.now());
    timer = window.setTimeout(function () {
      timer = null;
      wanted = false;
      fetching = true;
      lastFetchAt = Date.now();
      fetch(listUrl, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (html !== null && !busy()) {
            swap(html);
          } else if (html !== null) {
            wanted = true;
          }
        })
        .catch(function () {})
        .then(function () {
          fetching = false;
          if (wanted) {
            refresh();
          }
        });
    }, wait);
  }

  region.addEventListener("focusout", function (event) {
    if (wanted && event.target.tagName === "SELECT") {
      window.setTimeout(refresh, 0);
    }
  });

  // --- the first-response clocks ("due in 12 min", "overdue 1 h"): the server's wording ---

  function span(seconds) {
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) {
      return Math.max(minutes, 1) + " min";
    }
    var hours = Math.floor(minutes / 60);
    return hours < 48 ? hours + " h" : Math.floor(hours / 24) + " d";
  }

  function tickClocks() {
    var now = Date.now();
    Array.prototype.forEach.call(region.querySelectorAll(".clock[data-due]"), function (clock) {
      var due = Date.parse(clock.getAttribute("data-due"));
      if (isNaN(due)) {
        return;
      }
      var left = (due - now) / 1000;
      clock.textContent = left >= 0 ? "due in " + span(left) : "overdue " + span(-left);
      clock.classList.toggle("clock--overdue", left < 0);
    });
  }

  window.setInterval(tickClocks, CLOCK_TICK_MS);

  // --- in-place actions: keep the focus in the row htmx swapped ---

  var htmxSpot = null;
  document.body.addEventListener("htmx:beforeSwap", function () {
    htmxSpot = focusSpot();
  });
  document.body.addEventListener("htmx:afterSettle", function () {
    if (htmxSpot) {
      restoreFocus(htmxSpot);
      htmxSpot = null;
    }
    region.dispatchEvent(new CustomEvent("inbox:updated", { bubbles: true }));
  });

  function changesTheList(event) {
    if (event.type === "message.created" || event.type === "thread.updated") {
      return true; // a new thread or message, a new priority, an assignee, a status
    }
    // The unread counts are the caller's own: they move when the caller read (another tab).
    return event.type === "message.read" && event.data && event.data.reader_kind === "staff";
  }

  if (window.CareCoreFeed) {
    window.CareCoreFeed.follow({
      seq: parseInt(region.getAttribute("data-feed-seq") || "", 10),
      onEvent: function (event) {
        if (changesTheList(event)) {
          refresh();
        }
      },
      onReset: refresh,
    });
  }
})();
