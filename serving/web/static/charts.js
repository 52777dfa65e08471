// The dashboards' charts: each <canvas data-chart="ID"> is drawn with Chart.js
// from the JSON in <script type="application/json" id="ID"> beside it (the page computes
// nothing; the same numbers are in the card's table). The period selector shows its choice
// as soon as it changes. No inline script or style: the pages' CSP allows neither.
(function () {
  "use strict";
  var COLOURS = ["#0b5cad", "#d97706", "#2f855a", "#b42318"];
  var money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumFractionDigits: 0 });
  var moneyShort = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", notation: "compact", maximumFractionDigits: 1 });
  var count = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });

  function format(unit, value, short) {
    if (value === null || value === undefined) return "—";
    if (unit === "fraction") return (value * 100).toFixed(short ? 0 : 1) + "%";
    if (unit === "dollars") return (short ? moneyShort : money).format(value);
    if (unit === "decimal") return value.toFixed(short ? 2 : 3);
    return count.format(value);
  }

  function config(spec) {
    var index = spec.horizontal ? "y" : "x";
    var value = spec.horizontal ? "x" : "y";
    var scales = {};
    // A few categories (CARCs, aging buckets) are all named; a run of months may skip some.
    // Horizontal bars (features, CARCs) name every bar.
    scales[index] = {
      stacked: !!spec.stacked,
      grid: { display: false },
      ticks: { autoSkip: !spec.horizontal && spec.labels.length > 6, maxRotation: 0, font: { size: 11 } }
    };
    var units = {};
    var datasets = spec.series.map(function (series, i) {
      var axis = series.axis === "right" ? value + "2" : value;
      units[axis] = series.unit;
      var colour = COLOURS[i % COLOURS.length];
      var set = {
        type: series.kind,
        label: series.label,
        data: series.values,
        unit: series.unit,
        backgroundColor: series.kind === "line" ? colour : colour + "b3",
        borderColor: colour,
        borderWidth: series.kind === "line" ? 2 : 0,
        pointRadius: series.kind === "line" ? 2 : 0,
        order: series.kind === "line" ? 0 : 1,
        maxBarThickness: 36
      };
      set[value + "AxisID"] = axis;
      return set;
    });
    Object.keys(units).forEach(function (axis) {
      var right = axis.slice(-1) === "2";
      scales[axis] = {
        position: spec.horizontal ? (right ? "top" : "bottom") : (right ? "right" : "left"),
        stacked: !!spec.stacked,
        beginAtZero: true,
        grid: { display: !right },
        ticks: {
          maxTicksLimit: 5,
          precision: units[axis] === "count" ? 0 : undefined,
          callback: function (v) { return format(units[axis], v, true); }
        }
      };
    });
    return {
      type: "bar",
      data: { labels: spec.labels, datasets: datasets },
      options: {
        indexAxis: index,
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: scales,
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 10, boxHeight: 10, font: { size: 11 } } },
          tooltip: {
            callbacks: {
              label: function (item) {
                return item.dataset.label + ": " + format(item.dataset.unit, item.raw, false);
              }
            }
          }
        }
      }
    };
  }

  function draw(root) {
    if (!window.Chart) return;
    var canvases = root.querySelectorAll("canvas[data-chart]:not([data-drawn])");
    Array.prototype.forEach.call(canvases, function (canvas) {
      var source = document.getElementById(canvas.getAttribute("data-chart"));
      if (!source) return;
      canvas.setAttribute("data-drawn", "");
      new window.Chart(canvas, config(JSON.parse(source.textContent)));
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("[data-submit-on-change]") && target.form) {
      target.form.requestSubmit();
    }
  });
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  // A card htmx brings in later (the cash forecast) is drawn when it arrives.
  document.addEventListener("htmx:load", function (event) { draw(event.target); });
})();
