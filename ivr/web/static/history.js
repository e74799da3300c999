// The history page: trend charts and a grouped report from /api/reports (no CDN, plain SVG).
// The monitor token comes from ?token= once and is then sent as a Bearer header only.
(function () {
  "use strict";
  var params = new URLSearchParams(location.search);
  var token = params.get("token") || sessionStorage.getItem("ivr-monitor-token") || "";
  if (params.get("token")) {
    sessionStorage.setItem("ivr-monitor-token", token);
    history.replaceState(null, "", location.pathname);  // keep the token out of history
  }
  var $ = function (id) { return document.getElementById(id); };
  var COLS = [["offered", "呼入"], ["answered", "接通"], ["abandoned", "放弃"],
              ["abandoned_short", "短放弃"], ["answer_rate", "接通率"],
              ["connection_rate_15s", "15秒接通率"], ["asa_seconds", "平均等待"],
              ["wait_p90_seconds", "P90等待"], ["aht_seconds", "平均处理"],
              ["talk_max_seconds", "最长通话"], ["transferred", "转接"], ["excluded", "非受理"],
              ["response_rate", "响应率"], ["resolution_rate", "解决率"],
              ["satisfaction_rate", "满意率"]];

  function query(extra) {
    var q = new URLSearchParams({period: $("period").value});
    if ($("value").value) q.set("value", $("value").value);
    Object.keys(extra || {}).forEach(function (k) { q.set(k, extra[k]); });
    return q.toString();
  }
  function get(path) {
    return fetch(path, {headers: {Authorization: "Bearer " + token}}).then(function (r) {
      if (!r.ok) return r.text().then(function (t) { throw new Error(r.status + " " + t); });
      return r;
    });
  }
  function fmt(key, v) {
    if (v === null || v === undefined) return "–";
    if (/rate/.test(key)) return (v * 100).toFixed(1) + "%";
    return typeof v === "number" ? String(Math.round(v * 10) / 10) : String(v);
  }
  function svgEl(name, attrs, text) {
    var el = document.createElementNS("http://www.w3.org/2000/svg", name);
    Object.keys(attrs).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    if (text !== undefined) el.textContent = text;
    return el;
  }
  function chart(svg, days, series, percent) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var W = 640, H = 220, L = 44, B = 24, T = 10;
    var max = percent ? 1 : 1;
    series.forEach(function (s) { days.forEach(function (d) { max = Math.max(max, d[s] || 0); }); });
    svg.appendChild(svgEl("line", {x1: L, y1: H - B, x2: W, y2: H - B, "class": "axis"}));
    svg.appendChild(svgEl("line", {x1: L, y1: T, x2: L, y2: H - B, "class": "axis"}));
    svg.appendChild(svgEl("text", {x: 2, y: T + 10}, percent ? "100%" : String(max)));
    svg.appendChild(svgEl("text", {x: 2, y: H - B}, "0"));
    var x = function (i) { return L + (W - L - 8) * (days.length > 1 ? i / (days.length - 1) : 0.5); };
    var y = function (v) { return H - B - (H - B - T) * (v / max); };
    if (days.length) {
      svg.appendChild(svgEl("text", {x: L, y: H - 6}, days[0].day));
      svg.appendChild(svgEl("text", {x: W - 70, y: H - 6}, days[days.length - 1].day));
    }
    series.forEach(function (s, k) {
      var pts = [];
      days.forEach(function (d, i) { if (d[s] !== null && d[s] !== undefined) pts.push(x(i) + "," + y(d[s])); });
      svg.appendChild(svgEl("polyline", {points: pts.join(" "), "class": "s" + k, "data-series": s}));
      svg.appendChild(svgEl("text", {x: W - 180 + k * 90, y: T + 10, "class": "legend"}, s));
    });
  }
  function table(rep) {
    var head = "<tr><th>key</th><th>名称 name</th>" + COLS.map(function (c) {
      return "<th title='" + c[0] + "'>" + c[1] + "</th>"; }).join("") + "</tr>";
    var row = function (key, name, r) {
      var tr = document.createElement("tr");
      [key, name].concat(COLS.map(function (c) { return fmt(c[0], r[c[0]]); })).forEach(function (v) {
        var td = document.createElement("td"); td.textContent = v; tr.appendChild(td); });
      return tr;
    };
    $("report").tHead.innerHTML = head;
    var body = $("report").tBodies[0];
    body.innerHTML = "";
    rep.rows.forEach(function (r) { body.appendChild(row(r.key, r.name, r)); });
    var foot = $("report").tFoot;
    foot.innerHTML = "";
    foot.appendChild(row("total", "合计", rep.total));
    $("title").textContent = "报表 Report · " + rep.group + " · " + rep.period.label +
      " (" + rep.period.from + " – " + rep.period.to + ")";
  }
  function load() {
    $("status").textContent = "…";
    return Promise.all([
      get("/api/reports/trend?" + query()).then(function (r) { return r.json(); }),
      get("/api/reports?" + query({group: $("group").value})).then(function (r) { return r.json(); })
    ]).then(function (res) {
      var days = res[0].days;
      chart($("volume"), days, ["offered", "answered"], false);
      chart($("rates"), days, ["answer_rate", "connection_rate_15s"], true);
      table(res[1]);
      $("status").textContent = "";
      document.body.dataset.loaded = "1";
    }).catch(function (e) { $("status").textContent = String(e.message || e); });
  }
  function download(fmtName) {
    get("/api/reports?" + query({group: $("group").value, format: fmtName})).then(function (r) {
      return r.blob();
    }).then(function (blob) {
      var a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = "report-" + $("group").value + "." + fmtName;
      document.body.appendChild(a); a.click(); a.remove();
    }).catch(function (e) { $("status").textContent = String(e.message || e); });
  }
  $("controls").addEventListener("submit", function (ev) { ev.preventDefault(); load(); });
  $("csv").addEventListener("click", function () { download("csv"); });
  $("xlsx").addEventListener("click", function () { download("xlsx"); });
  if (params.get("period")) $("period").value = params.get("period");
  if (params.get("value")) $("value").value = params.get("value");
  if (params.get("group")) $("group").value = params.get("group");
  load();
})();
