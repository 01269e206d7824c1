/* Draws the dashboards' charts with Apache ECharts (static/vendor/echarts-*).
 *
 * Each chart is a <div class="dashboard-chart" data-chart="ID"> next to a
 * <script type="application/json" id="ID"> block (Django's json_script) holding
 * {kind, categories, series: [{name, data}]}: the same numbers as the table view
 * under it. No inline script: the Content-Security-Policy allows only files.
 */
(function () {
  "use strict";
  if (typeof echarts === "undefined") {
    return;
  }

  var PALETTE = ["#d63384", "#0d6efd", "#198754", "#fd7e14", "#6f42c1", "#20c997", "#ffc107", "#6c757d"];

  function base(spec) {
    return {
      color: PALETTE,
      animation: false,
      tooltip: { trigger: "axis", confine: true },
      legend: { type: "scroll", top: 0 },
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: spec.categories, axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", minInterval: 1 }
    };
  }

  var builders = {
    stacked: function (spec) {
      var option = base(spec);
      option.series = spec.series.map(function (serie) {
        return { name: serie.name, type: "bar", stack: "total", data: serie.data, emphasis: { focus: "series" } };
      });
      return option;
    },
    bars: function (spec) {
      var option = base(spec);
      option.xAxis = { type: "value" };
      option.yAxis = { type: "category", data: spec.categories.slice().reverse(), axisLabel: { width: 120, overflow: "truncate" } };
      option.series = spec.series.map(function (serie) {
        return { name: serie.name, type: "bar", data: serie.data.slice().reverse(), label: { show: true, position: "right" } };
      });
      return option;
    },
    funnel: function (spec) {
      var values = spec.series[0].data;
      return {
        color: PALETTE,
        animation: false,
        tooltip: { trigger: "item", formatter: "{b}: {c}" },
        series: [{
          type: "funnel", sort: "none", left: "10%", width: "80%", top: 8, bottom: 8, minSize: "8%",
          label: { position: "inside", formatter: "{b}\n{c}" },
          data: spec.categories.map(function (name, index) { return { name: name, value: values[index] }; })
        }]
      };
    },
    rate: function (spec) {
      // Appointments held and those that led to a relationship as bars, the rate (%) as a line.
      var option = base(spec);
      option.yAxis = [{ type: "value", minInterval: 1 }, { type: "value", max: 100, axisLabel: { formatter: "{value}%" } }];
      option.series = [
        { name: spec.series[0].name, type: "bar", data: spec.series[0].data },
        { name: spec.series[1].name, type: "bar", data: spec.series[1].data },
        { name: spec.series[2].name, type: "line", yAxisIndex: 1, connectNulls: true, data: spec.series[2].data }
      ];
      return option;
    }
  };

  var charts = [];
  document.querySelectorAll(".dashboard-chart[data-chart]").forEach(function (element) {
    var source = document.getElementById(element.getAttribute("data-chart"));
    if (!source) {
      return;
    }
    var spec = JSON.parse(source.textContent);
    var build = builders[spec.kind];
    if (!build || !spec.categories.length) {
      return;
    }
    var chart = echarts.init(element, null, { renderer: "canvas" });
    chart.setOption(build(spec));
    element.setAttribute("data-drawn", "true");
    charts.push(chart);
  });

  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
  // A chart drawn in a hidden tab has no size; draw it again when its tab is shown.
  document.addEventListener("shown.bs.tab", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
})();
