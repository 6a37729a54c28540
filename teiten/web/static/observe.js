/* teiten's observation charts: every <figure class="chart"> holds its data as a JSON block
   (<script type="application/json" class="chart-data">, written by the server: not run,
   so the page's CSP allows no inline script at all) and is drawn here with the vendored
   Apache ECharts, SVG renderer, with ARIA descriptions and decal patterns on (series differ
   by pattern, not only colour). Colours are stable per key across pages: a key's colour is
   picked by a hash of its name. Hours when a sensor recorded nothing are shaded
   (spec.gaps), so an outage never reads as a fall in scanning. Download buttons: the
   figure's JSON and CSV come from the API (data-src), PNG and SVG from the chart. */
(function () {
  "use strict";
  var PALETTE = ["#1f4e79", "#c0392b", "#27ae60", "#8e44ad", "#d68910", "#17a589", "#7f8c8d",
                 "#2e86c1", "#a04000", "#b7950b", "#6c3483", "#1e8449"];
  var lang = (document.documentElement.lang || "en").slice(0, 2) === "ja" ? "JA" : "EN";

  function colour(key) {
    var h = 0;
    for (var i = 0; i < key.length; i++) { h = (h * 31 + key.charCodeAt(i)) >>> 0; }
    return PALETTE[h % PALETTE.length];
  }

  function gapAreas(spec) {
    return (spec.gaps || []).map(function (g) { return [{ xAxis: g[0] }, { xAxis: g[1] }]; });
  }

  function option(spec) {
    var base = {
      aria: { enabled: true, decal: { show: true } },
      animation: false,
      tooltip: { trigger: spec.type === "heatmap" || spec.type === "map" ? "item" : "axis" },
      legend: { type: "scroll", top: 0 },
      grid: { left: 72, right: 24, top: 36, bottom: 48 }
    };
    if (spec.type === "heatmap") {
      var max = 0;
      spec.cells.forEach(function (c) { if (c[2] > max) { max = c[2]; } });
      base.aria.decal.show = false;  /* a heatmap's cells differ by lightness */
      base.grid.bottom = 72;
      base.xAxis = { type: "category", data: spec.x, name: spec.xName, nameLocation: "middle", nameGap: 30 };
      base.yAxis = { type: "category", data: spec.y, name: spec.yName, nameLocation: "middle", nameGap: 40 };
      base.visualMap = { min: 0, max: max || 1, calculable: true, orient: "horizontal", left: "center",
                         bottom: 0, inRange: { color: ["#f4f8fc", "#9ecae1", "#3182bd", "#08306b"] } };
      base.series = [{ type: "heatmap", name: spec.seriesName || "", data: spec.cells }];
      if (spec.gaps && spec.gaps.length) {  /* hours without a packet from a sensor: hatched grey */
        base.visualMap.seriesIndex = 0;
        base.series.push({ type: "heatmap", name: spec.gapName || "", silent: true,
                           data: spec.gaps.map(function (g) { return [g[0], g[1], 0]; }),
                           itemStyle: { color: "rgba(128,128,128,0.45)", borderColor: "#555", borderWidth: 1,
                                        decal: { symbol: "rect", dashArrayX: [1, 0], dashArrayY: [2, 3],
                                                 rotation: -Math.PI / 4, color: "rgba(0,0,0,0.35)" } } });
      }
      return base;
    }
    if (spec.type === "map") {
      var top = 0;
      spec.data.forEach(function (d) { if (d.value > top) { top = d.value; } });
      base.visualMap = { min: 0, max: top || 1, left: "left", bottom: 0, text: [spec.high || "", spec.low || ""],
                         calculable: true };
      base.series = [{ type: "map", map: "world", roam: true, name: spec.seriesName || "",
                       data: spec.data, nameProperty: "name" }];
      base.tooltip.formatter = function (p) {
        return echarts.format.encodeHTML((p.data && p.data.label) || p.name) + ": " + (p.value === p.value ? p.value : "-");
      };
      return base;
    }
    base.xAxis = { type: "category", data: spec.x, name: spec.xName, nameLocation: "middle", nameGap: 30 };
    base.yAxis = { type: "value", name: spec.yName, nameLocation: "middle", nameGap: 48 };
    base.series = spec.series.map(function (s, i) {
      var out = { name: s.name, type: spec.type === "bars" ? "bar" : "line", data: s.data,
                  itemStyle: { color: s.colour || colour(s.name) }, showSymbol: false,
                  lineStyle: { type: ["solid", "dashed", "dotted"][i % 3] } };
      if (spec.type === "stacked") { out.stack = "all"; out.areaStyle = {}; }
      if (i === 0 && spec.gaps && spec.gaps.length) {
        out.markArea = { silent: true, itemStyle: { color: "rgba(128,128,128,0.18)" }, data: gapAreas(spec) };
      }
      return out;
    });
    return base;
  }

  function download(name, href) {
    var a = document.createElement("a");
    a.href = href;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
  }

  function draw(fig) {
    var block = fig.querySelector("script.chart-data");
    var el = fig.querySelector(".chart-area");
    if (!block || !el || typeof echarts === "undefined") { return; }
    var spec = JSON.parse(block.textContent);
    if (spec.type === "map" && !echarts.getMap("world")) { return; }  /* vendor/world/world.js registers it */
    var chart = echarts.init(el, null, { renderer: "svg", locale: lang });
    chart.setOption(option(spec));
    fig.setAttribute("data-drawn", String(chart.getOption().series.length));
    window.addEventListener("resize", function () { chart.resize(); });
    var stem = fig.getAttribute("data-name") || "chart";
    fig.querySelectorAll("button[data-export]").forEach(function (b) {
      b.addEventListener("click", function () {
        var kind = b.getAttribute("data-export");
        if (kind === "png") {
          download(stem + ".png", chart.getDataURL({ type: "png", pixelRatio: 2, backgroundColor: "#fff" }));
        } else if (kind === "svg") {
          var svg = el.querySelector("svg");
          if (svg) {
            var blob = new Blob([new XMLSerializer().serializeToString(svg)], { type: "image/svg+xml" });
            download(stem + ".svg", URL.createObjectURL(blob));
          }
        }
      });
    });
  }

  /* the overview's findings: the detectors run on the server the first time (seconds on a
     big quarter), so the page is drawn first and the list filled when they answer */
  var SHOWN_FINDINGS = 10;

  function findings(box) {
    var pending = box.querySelector("p.pending");
    fetch(box.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (doc) {
        var rows = doc.data || [];
        if (!rows.length) { pending.textContent = box.dataset.none; return; }
        var list = document.createElement("ul");
        list.id = "findings-list";
        rows.slice(0, SHOWN_FINDINGS).forEach(function (f) {
          var item = document.createElement("li"), link = document.createElement("a");
          link.href = box.dataset.finding.replace("FID", encodeURIComponent(f.id));
          link.textContent = box.dataset.lang === "ja" ? f.title_ja : f.title_en;  /* text, never markup */
          item.appendChild(link);
          item.appendChild(document.createTextNode(" (" + f.kind + ")"));
          list.appendChild(item);
        });
        pending.replaceWith(list);
      })
      .catch(function () { pending.textContent = box.dataset.failed; });
  }

  /* a port or region page's tables: one pass per source over the key's packets (seconds on a
     big quarter), so the page is drawn first and the server's fragment (escaped there, as
     every page is) put in when it answers */
  function tables(box) {
    var pending = box.querySelector("p.pending");
    fetch(box.dataset.src, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        box.replaceChildren.apply(box, Array.prototype.slice.call(doc.body.childNodes));
        box.removeAttribute("aria-busy");
      })
      .catch(function () { pending.textContent = box.dataset.failed; box.removeAttribute("aria-busy"); });
  }

  function ready() {
    document.querySelectorAll("figure.chart").forEach(draw);
    document.querySelectorAll("section#findings[data-src]").forEach(findings);
    document.querySelectorAll("div#key-tables[data-src]").forEach(tables);
    /* a filter change submits its form (the URL is the view) */
    document.querySelectorAll("form.filters select").forEach(function (s) {
      s.addEventListener("change", function () { s.form.submit(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
