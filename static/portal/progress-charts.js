/* Progress charts: one line chart per instrument on the vendored Chart.js 4, with the
 * instrument's published severity bands shaded behind the line and the active goal's target
 * drawn as a dashed line. The data come from the canvas's data-chart attribute (no inline
 * script); the same numbers are in the table under each chart.
 */
(function () {
  "use strict";

  if (!window.Chart) {
    return;
  }
  // Light to dark: colour is never the only cue (the table and the legend name each band).
  var BAND_COLOURS = ["#e7f4e4", "#fef0c8", "#fde0cc", "#f8dfe2", "#e8d5e9"];

  var bandsPlugin = {
    id: "carecoreBands",
    beforeDatasetsDraw: function (chart, _args, options) {
      var bands = options.bands || [];
      var area = chart.chartArea;
      var y = chart.scales.y;
      var context = chart.ctx;
      context.save();
      bands.forEach(function (band, index) {
        // Bands of whole-number scores (0-2, 3-7, ...) are drawn edge to edge.
        var next = bands[index + 1];
        var top = y.getPixelForValue(next ? next.low : band.high);
        var bottom = y.getPixelForValue(band.low);
        context.fillStyle = BAND_COLOURS[index % BAND_COLOURS.length];
        context.fillRect(area.left, top, area.right - area.left, bottom - top);
      });
      context.restore();
    },
  };

  Array.prototype.forEach.call(document.querySelectorAll("canvas[data-chart]"), function (canvas) {
    var data = JSON.parse(canvas.getAttribute("data-chart"));
    var datasets = [
      {
        label: data.score_label || "Your score",
        data: data.values,
        borderColor: "#1a4480",
        backgroundColor: "#1a4480",
        pointRadius: 5,
        spanGaps: true,
      },
    ];
    if (data.goal !== null && data.goal !== undefined) {
      datasets.push({
        label: data.goal_label || "Your goal",
        data: data.values.map(function () { return data.goal; }),
        borderColor: "#00703c",
        borderDash: [6, 4],
        pointRadius: 0,
        borderWidth: 2,
      });
    }
    new window.Chart(canvas, {
      type: "line",
      data: { labels: data.labels, datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: { y: { min: data.min, max: data.max, title: { display: true, text: "Score" } } },
        plugins: { carecoreBands: { bands: data.bands }, legend: { position: "bottom" } },
      },
      plugins: [bandsPlugin],
    });
  });
})();
