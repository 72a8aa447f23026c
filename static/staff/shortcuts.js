/* Keyboard shortcuts of the inbox and the thread page (the help: staff_web/_shortcuts.html).
 *
 *   j / k   next / previous thread (inbox: moves the focus down the rows; thread page: opens
 *           the next / previous thread of the inbox list last shown in this tab)
 *   Enter   open the selected thread (the focused row's link: the browser's own Enter)
 *   r       reply: the reply box of this thread, or of the thread selected in the inbox
 *   ?       this help, in a modal dialog (Esc closes it)
 *
 * Never while typing (inputs, text areas, selects, editable content), never with Ctrl, Alt or
 * Meta, never behind the open dialog. Single-key shortcuts can be turned off in the help
 * (WCAG 2.1.4), remembered in this browser. Every move is announced in the page's status
 * region, and it moves the real focus, so screen readers read the thread's link too.
 */
(function () {
  "use strict";

  var ENABLED_KEY = "carecore.shortcuts";
  var ORDER_KEY = "carecore.inbox.order";
  var dialog = document.getElementById("shortcuts");
  var opener = document.getElementById("shortcuts-open");
  var toggle = document.getElementById("shortcuts-enabled");
  var statusRegion = document.getElementById("live-status");
  var inbox = document.getElementById("inbox");
  var messages = document.getElementById("messages");
  var replyBox = document.getElementById("id_reply-body");

  function stored(key, fallback) {
    try {
      return window.localStorage.getItem(key) || fallback;
    } catch (error) {
      return fallback; // storage off: shortcuts on, nothing remembered
    }
  }

  function store(storage, key, value) {
    try {
      storage.setItem(key, value);
    } catch (error) {
      /* storage off or full: nothing remembered */
    }
  }

  var enabled = stored(ENABLED_KEY, "on") !== "off";

  function announce(text) {
    if (statusRegion) {
      statusRegion.textContent = "";
      window.setTimeout(function () {
        statusRegion.textContent = text;
      }, 50);
    }
  }

  // --- the help dialog ---

  if (dialog && opener && typeof dialog.showModal === "function") {
    opener.hidden = false;
    opener.addEventListener("click", function () {
      dialog.showModal();
    });
    if (toggle) {
      toggle.checked = enabled;
      toggle.addEventListener("change", function () {
        enabled = toggle.checked;
        store(window.localStorage, ENABLED_KEY, enabled ? "on" : "off");
        announce(enabled ? "Single-key shortcuts on." : "Single-key shortcuts off.");
      });
    }
  }

  // --- the inbox: its rows, and their order for the thread page's j / k ---

  function threadLinks() {
    return inbox ? Array.prototype.slice.call(inbox.querySelectorAll("a[data-thread-link]")) : [];
  }

  function rememberOrder() {
    var urls = threadLinks().map(function (link) {
      return link.getAttribute("href");
    });
    store(window.sessionStorage, ORDER_KEY, JSON.stringify(urls));
  }

  var selectedHref = null;

  function selectedIndex(links) {
    var active = document.activeElement;
    var row = active && active.closest ? active.closest("tr") : null;
    for (var i = 0; i < links.length; i++) {
      if (row && row.contains(links[i])) {
        return i;
      }
    }
    for (var j = 0; j < links.length; j++) {
      if (links[j].getAttribute("href") === selectedHref) {
        return j;
      }
    }
    return -1;
  }

  function selectRow(delta) {
    var links = threadLinks();
    if (!links.length) {
      announce("No threads in this list.");
      return;
    }
    var current = selectedIndex(links);
    var next = current === -1 ? (delta > 0 ? 0 : links.length - 1) : current + delta;
    if (next < 0 || next >= links.length) {
      announce(delta > 0 ? "Last thread in this list." : "First thread in this list.");
      return;
    }
    var link = links[next];
    selectedHref = link.getAttribute("href");
    link.focus();
    link.scrollIntoView({ block: "nearest" });
    announce("Thread " + (next + 1) + " of " + links.length + ".");
  }

  function selectedLink() {
    var links = threadLinks();
    var index = selectedIndex(links);
    return index === -1 ? null : links[index];
  }

  // --- the thread page: the inbox list's neighbours ---

  function openNeighbour(delta) {
    var order = [];
    try {
      order = JSON.parse(window.sessionStorage.getItem(ORDER_KEY) || "[]");
    } catch (error) {
      order = [];
    }
    var here = order.indexOf(window.location.pathname);
    var target = here === -1 ? -1 : here + delta;
    if (target < 0 || target >= order.length) {
      announce(
        here === -1
          ? "This thread is not in the inbox list last shown: open the inbox first."
          : delta > 0
            ? "No next thread: this is the last one in the inbox list."
            : "No previous thread: this is the first one in the inbox list."
      );
      return;
    }
    window.location.assign(order[target]);
  }

  function reply() {
    if (replyBox) {
      replyBox.focus();
      replyBox.scrollIntoView({ block: "center" });
      return;
    }
    var link = selectedLink();
    if (link) {
      window.location.assign(link.getAttribute("href") + "#reply");
    } else {
      announce("Select a thread first (j or k), then press r.");
    }
  }

  // --- the keys ---

  function typing(target) {
    if (!target || !target.tagName) {
      return false;
    }
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) {
      return;
    }
    if (!enabled || typing(event.target) || (dialog && dialog.open)) {
      return;
    }
    var key = event.key;
    var handled = true;
    if (key === "?" && dialog && typeof dialog.showModal === "function") {
      dialog.showModal();
    } else if ((key === "j" || key === "k") && inbox) {
      selectRow(key === "j" ? 1 : -1);
    } else if ((key === "j" || key === "k") && messages) {
      openNeighbour(key === "j" ? 1 : -1);
    } else if (key === "r" && (replyBox || inbox)) {
      reply();
    } else if (key === "Enter" && inbox && (event.target === document.body || event.target.id === "main")) {
      // Enter on a focused link or button is the browser's; this is Enter with no focus in
      // the list, after j / k moved away from it.
      var link = selectedLink();
      if (link) {
        window.location.assign(link.getAttribute("href"));
      } else {
        handled = false;
      }
    } else {
      handled = false;
    }
    if (handled) {
      event.preventDefault();
    }
  });

  if (replyBox && window.location.hash === "#reply") {
    replyBox.focus();
  }
  if (replyBox) {
    replyBox.setAttribute("aria-keyshortcuts", "R");
  }
  if (inbox) {
    rememberOrder();
    inbox.addEventListener("inbox:updated", rememberOrder);
  }
})();
