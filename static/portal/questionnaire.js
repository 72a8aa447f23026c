/* Questionnaires: show and hide questions as answers change (enableWhen, evaluated as intake's
 * engine does: in order, a hidden question's answer counts as absent, "!=" holds when
 * unanswered, comparisons are type-strict), and keep the progress bar up to date.
 *
 * The page works without this file: every question is then shown, and the server ignores
 * answers to questions their conditions leave out (docs/web-portal.md, "Questionnaires").
 */
(function () {
  "use strict";

  var form = document.getElementById("questionnaire");
  if (!form) {
    return;
  }
  var questions = Array.prototype.slice.call(form.querySelectorAll(".question[data-link-id]"));
  var progress = document.getElementById("progress");
  var progressText = document.getElementById("progress-text");

  function inputs(question) {
    return Array.prototype.slice.call(question.querySelectorAll("input, textarea, select"));
  }

  function valueOf(question) {
    var type = question.getAttribute("data-type");
    var fields = inputs(question);
    if (type === "multi-choice") {
      var chosen = fields.filter(function (f) { return f.checked; }).map(function (f) {
        return f.value;
      });
      return chosen.length ? chosen : null;
    }
    if (type === "choice" || type === "boolean") {
      var picked = fields.filter(function (f) { return f.checked; })[0];
      if (!picked) {
        return null;
      }
      if (type === "boolean") {
        return picked.value === "true";
      }
      return picked.value;
    }
    var raw = fields.length ? fields[0].value.trim() : "";
    if (!raw) {
      return null;
    }
    if (type === "integer" || type === "decimal") {
      var number = Number(raw);
      return isNaN(number) ? raw : number;
    }
    return raw;
  }

  function answered(value) {
    return value !== null && !(Array.isArray(value) && value.length === 0);
  }

  // Choice codes are numbers or strings in definitions; the form only has strings.
  function same(value, expected) {
    if (typeof expected === "boolean" || typeof value === "boolean") {
      return value === expected;
    }
    return String(value) === String(expected);
  }

  function holds(condition, value) {
    var isAnswered = answered(value);
    if (condition.operator === "exists") {
      return isAnswered === condition.answer;
    }
    if (condition.operator === "=" || condition.operator === "!=") {
      var equal = false;
      if (isAnswered) {
        equal = Array.isArray(value)
          ? value.some(function (each) { return same(each, condition.answer); })
          : same(value, condition.answer);
      }
      return condition.operator === "=" ? equal : !equal;
    }
    if (!isAnswered) {
      return false;
    }
    var left = value;
    var right = condition.answer;
    var isDate = /^\d{4}-\d{2}-\d{2}$/;
    if (typeof left === "number" && typeof right === "number") {
      // compared as numbers
    } else if (isDate.test(String(left)) && isDate.test(String(right))) {
      left = String(left);
      right = String(right); // ISO dates compare as text
    } else {
      return false;
    }
    switch (condition.operator) {
      case ">": return left > right;
      case ">=": return left >= right;
      case "<": return left < right;
      case "<=": return left <= right;
      default: return false;
    }
  }

  function update() {
    var values = {};
    var shown = 0;
    var done = 0;
    questions.forEach(function (question) {
      var linkId = question.getAttribute("data-link-id");
      var raw = question.getAttribute("data-enable-when");
      var enabled = true;
      if (raw) {
        var conditions = JSON.parse(raw);
        var results = conditions.map(function (condition) {
          var current = Object.prototype.hasOwnProperty.call(values, condition.question)
            ? values[condition.question]
            : null;
          return holds(condition, current);
        });
        enabled = question.getAttribute("data-enable-behavior") === "any"
          ? results.some(Boolean)
          : results.every(Boolean);
      }
      question.hidden = !enabled;
      if (enabled) {
        var value = valueOf(question);
        values[linkId] = value;
        shown += 1;
        if (answered(value)) {
          done += 1;
        }
      }
    });
    if (progress) {
      progress.max = shown;
      progress.value = done;
      progress.textContent = done + " of " + shown;
    }
    if (progressText) {
      progressText.textContent = done + " of " + shown + " questions answered";
    }
  }

  form.addEventListener("change", update);
  form.addEventListener("input", update);
  update();
})();
