// The organisation chart (org/chart.html): the tree comes from the page's data-url.
(function () {
  const el = document.getElementById("org-chart");
  if (!el || !window.echarts) { return; }
  const chart = window.echarts.init(el);
  chart.showLoading();
  window.SalesOps.fetchJSON(el.dataset.url).then(function (body) {
    chart.hideLoading();
    const data = body.roots.length === 1 ? body.roots[0] : {name: el.dataset.rootName, children: body.roots};
    chart.setOption({
      // Drawn on the canvas: an HTML tooltip would carry style="" attributes, which the
      // Content-Security-Policy refuses.
      tooltip: {trigger: "item", triggerOn: "mousemove", renderMode: "richText"},
      series: [{
        type: "tree", data: [data], orient: "LR", top: "2%", bottom: "2%", left: "8%", right: "22%",
        symbolSize: 9, initialTreeDepth: 2, expandAndCollapse: true, roam: true,
        label: {position: "left", verticalAlign: "middle", align: "right", fontSize: 13},
        leaves: {label: {position: "right", verticalAlign: "middle", align: "left"}},
        animationDuration: 300
      }]
    });
  }).catch(function (err) {
    chart.hideLoading();
    window.SalesOps.showError(err.message);
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
