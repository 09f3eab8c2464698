// The growth projection chart (compensation/projection.html): the series come from the
// page's json_script block #projection-data, the axis names from the chart's data-*.
(function () {
  const el = document.getElementById("projection-chart");
  const source = document.getElementById("projection-data");
  if (!el || !source || !window.echarts) { return; }
  const data = JSON.parse(source.textContent);
  const chart = window.echarts.init(el);
  chart.setOption({
    // Drawn on the canvas: an HTML tooltip would carry style="" attributes, which the
    // Content-Security-Policy refuses.
    tooltip: {trigger: "axis", renderMode: "richText"},
    legend: {data: [data.seed_name, data.observed_name]},
    xAxis: {type: "category", name: el.dataset.xName, data: data.steps},
    yAxis: {type: "log", name: el.dataset.yName, logBase: 10},
    series: [
      {name: data.seed_name, type: "line", data: data.seed.map(Number)},
      {name: data.observed_name, type: "line", data: data.observed.map(function (v) { return Math.max(Number(v), 0.01); })}
    ]
  });
  window.projectionChart = chart;
  window.addEventListener("resize", function () { chart.resize(); });
})();
