// 12345 hotline wall-screen dashboard: renders the /api/metrics/stream SSE payload.
// No framework, no CDN. ?lang=zh|en picks the language (button toggles); ?token= is
// passed on to the stream because EventSource cannot send an Authorization header.
"use strict";

const T = {
  zh: {
    title: "12345 热线实时监控", connecting: "连接中", live: "实时", offline: "已断开",
    alerts: "告警", staffing: "坐席配置建议", noAlerts: "无告警",
    footer: "接通率 = 接通 / (接通 + 放弃 − 短时放弃)；服务水平 = 阈值内接通 / 同一分母；" +
      "窗口：最近15分钟、最近1小时、今日（北京时间）；等待分位数按分箱估算。",
    staffingNote: "按最近1小时的来话量、处理时长和耐心时间，用 Erlang A（无放弃时用 Erlang C）计算。",
    rate15: "接通率（15分钟）", target: "目标", sl: "服务水平", today: "今日接通率",
    waiting: "排队", longest: "最长等待", asa: "平均应答", offered: "进线",
    answered: "接通", abandoned: "放弃", seatsLogged: "签入", ready: "空闲", reserved: "振铃",
    talking: "通话", wrapup: "话后", break: "小休", queue: "队列", cph: "来话/小时",
    aht: "处理时长", patience: "耐心", needed: "需要", logged: "在岗", predicted: "当前预计接通率",
    pool: "统一坐席池", subcenter: "分中心", spark: "近6小时接通率",
    answer_rate_below_target: (a) => `${a.queue_name}：${win(a.window)}接通率 ${pct(a.value)}，低于目标 ${pct(a.threshold)}`,
    longest_wait: (a) => `${a.queue_name}：有来电已等待 ${secs(a.value)}（阈值 ${secs(a.threshold)}）`,
    no_seat_logged_in: (a) => `${a.queue_name}：${a.value} 通来电排队，但无坐席签入`,
    overflowing: (a) => `${a.queue_name}：已连续 ${a.value * 15} 分钟溢出`,
    w15m: "最近15分钟", w1h: "最近1小时", wtoday: "今日", center: "中心",
  },
  en: {
    title: "12345 hotline live monitor", connecting: "connecting", live: "live", offline: "disconnected",
    alerts: "Alerts", staffing: "Staffing advice", noAlerts: "No active alerts",
    footer: "Answer rate = answered / (answered + abandoned − short abandons); service level = " +
      "answered within threshold / same denominator; windows: last 15 min, last hour, today " +
      "(Asia/Shanghai); wait percentiles are estimated from bins.",
    staffingNote: "Erlang A (Erlang C when nobody abandoned) on the last hour's arrivals, handle time and patience.",
    rate15: "Answer rate (15 min)", target: "target", sl: "Service level", today: "Today",
    waiting: "Waiting", longest: "Longest wait", asa: "ASA", offered: "Offered",
    answered: "Answered", abandoned: "Abandoned", seatsLogged: "logged in", ready: "ready",
    reserved: "ringing", talking: "talking", wrapup: "wrap-up", break: "break", queue: "Queue",
    cph: "calls/h", aht: "AHT", patience: "patience", needed: "needed", logged: "logged in",
    predicted: "answer rate now (model)", pool: "pool", subcenter: "sub-center",
    spark: "answer rate, last 6 h",
    answer_rate_below_target: (a) => `${qname(a)}: answer rate ${pct(a.value)} below ${pct(a.threshold)} (${win(a.window)})`,
    longest_wait: (a) => `${qname(a)}: a caller has waited ${secs(a.value)} (limit ${secs(a.threshold)})`,
    no_seat_logged_in: (a) => `${qname(a)}: ${a.value} waiting and no seat logged in`,
    overflowing: (a) => `${qname(a)}: overflowing for ${a.value * 15} min in a row`,
    w15m: "last 15 min", w1h: "last hour", wtoday: "today", center: "Center",
  },
};

const params = new URLSearchParams(location.search);
let lang = params.get("lang") === "en" ? "en" : "zh";
let last = null;

const t = (k) => T[lang][k] ?? k;
const pct = (v) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`);
const secs = (v) => (v === null || v === undefined ? "—" : `${Math.round(v)} s`);
const win = (w) => t(`w${w}`);
const qname = (q) => {
  const id = q.queue ?? q.id;
  if (lang === "zh") return q.queue_name ?? q.name;
  return id === "pool" ? "12345 pool" : `${id.replace(/^sub-/, "")} sub-center`;
};

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : String(c));
  return node;
}

function applyLang() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.title = t("title");
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  document.getElementById("lang").textContent = lang === "zh" ? "English" : "中文";
  if (last) render(last);
}

function spark(points, target) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("viewBox", "0 0 100 40");
  svg.setAttribute("preserveAspectRatio", "none");
  const rates = points.map((p) => p.answer_rate);
  const known = rates.filter((r) => r !== null);
  const low = Math.min(target - 0.05, ...known);
  const y = (r) => 38 - ((r - low) / Math.max(1e-9, 1 - low)) * 36;
  const line = document.createElementNS(ns, "line");
  for (const [k, v] of [["x1", 0], ["x2", 100], ["y1", y(target)], ["y2", y(target)]]) line.setAttribute(k, v);
  svg.append(line);
  const step = 100 / Math.max(1, points.length - 1);
  const pts = rates.map((r, i) => (r === null ? null : `${(i * step).toFixed(1)},${y(r).toFixed(1)}`));
  const poly = document.createElementNS(ns, "polyline");
  poly.setAttribute("points", pts.filter(Boolean).join(" "));
  svg.append(poly);
  const title = document.createElementNS(ns, "title");
  title.textContent = t("spark");
  svg.append(title);
  return svg;
}

function tile(q) {
  const w = q.windows["15m"], today = q.windows.today, live = q.live;
  const state = w.answer_rate === null ? "ok" : (w.below_target ? "bad" : "ok");
  const dl = el("dl", {},
    el("dt", {}, t("sl")), el("dd", {}, `${pct(w.service_level)} / ${q.sl_seconds} s`),
    el("dt", {}, t("today")), el("dd", { class: today.below_target ? "bad" : "" }, pct(today.answer_rate)),
    el("dt", {}, t("waiting")), el("dd", { class: "waiting" }, live.waiting),
    el("dt", {}, t("longest")), el("dd", {}, secs(live.longest_wait_seconds)),
    el("dt", {}, t("asa")), el("dd", {}, secs(w.asa_seconds)),
    el("dt", {}, `${t("offered")} / ${t("answered")} / ${t("abandoned")}`),
    el("dd", {}, `${w.offered} / ${w.answered} / ${w.abandoned_counted}`));
  const s = live.seats;
  const seats = el("div", { class: "seats" },
    el("span", {}, `${t("seatsLogged")} ${s.logged}`), el("span", {}, `${t("ready")} ${s.ready}`),
    el("span", {}, `${t("reserved")} ${s.reserved}`), el("span", {}, `${t("talking")} ${s.talking}`),
    el("span", {}, `${t("wrapup")} ${s.wrapup}`), el("span", {}, `${t("break")} ${s.break}`));
  return el("article", { class: `tile ${state}`, "data-queue": q.id, "data-state": state },
    el("h2", {}, el("span", {}, qname(q)), el("span", { class: "muted small" }, t(q.kind))),
    el("div", { class: "rate" }, pct(w.answer_rate)),
    el("div", { class: "muted small" }, `${t("rate15")} · ${t("target")} ${pct(q.target_answer_rate)}`),
    dl, seats, spark(q.spark || [], q.target_answer_rate));
}

function totals(data) {
  const box = document.getElementById("totals");
  if (!data.totals) return;
  const w = data.totals.windows.today, live = data.totals.live;
  const item = (label, value) => el("div", {}, el("span", { class: "muted small" }, label), el("b", {}, value));
  box.replaceChildren(
    item(`${t("center")} · ${t("today")}`, pct(w.answer_rate)),
    item(t("sl"), pct(w.service_level)),
    item(t("offered"), w.offered), item(t("answered"), w.answered),
    item(t("abandoned"), w.abandoned_counted), item(t("waiting"), live.waiting),
    item(t("longest"), secs(live.longest_wait_seconds)),
    item(t("seatsLogged"), live.seats.logged), item(t("talking"), live.seats.talking));
}

function alerts(list) {
  const ul = document.getElementById("alerts");
  const items = list.map((a) => el("li", { "data-kind": a.kind, "data-queue": a.queue },
    (T[lang][a.kind] || (() => a.message))(a)));
  ul.replaceChildren(...(items.length ? items : [el("li", { class: "none" }, t("noAlerts"))]));
}

function staffing(rows) {
  const table = document.getElementById("staffing");
  const head = [t("queue"), t("cph"), t("aht"), t("patience"), t("needed"), t("logged"), t("predicted")];
  table.tHead.replaceChildren(el("tr", {}, ...head.map((h) => el("th", {}, h))));
  table.tBodies[0].replaceChildren(...rows.map((r) => el("tr", { "data-queue": r.queue },
    el("td", {}, qname({ queue: r.queue, queue_name: r.name })), el("td", {}, r.calls_per_hour),
    el("td", {}, secs(r.aht_seconds)), el("td", {}, secs(r.patience_seconds)),
    el("td", {}, r.seats_needed ?? "—"),
    el("td", { class: r.seats_needed !== null && r.logged_in < r.seats_needed ? "short" : "" }, r.logged_in),
    el("td", {}, pct(r.at_logged_in ? r.at_logged_in.answer_rate : null)))));
}

function render(data) {
  last = data;
  document.getElementById("center").textContent = data.center;
  document.getElementById("clock").textContent = data.now_iso.replace("T", " ").slice(0, 19);
  totals(data);
  document.getElementById("tiles").replaceChildren(...data.queues.map(tile));
  alerts(data.alerts);
  staffing(data.staffing || []);
}

function connect() {
  const qs = new URLSearchParams({ interval: "1" });
  if (params.get("token")) qs.set("token", params.get("token"));
  const source = new EventSource(`api/metrics/stream?${qs}`);
  const conn = document.getElementById("conn");
  const status = (up) => { conn.className = `conn ${up ? "up" : "down"}`; conn.dataset.i18n = up ? "live" : "offline"; conn.textContent = t(conn.dataset.i18n); };
  source.addEventListener("metrics", (ev) => { status(true); render(JSON.parse(ev.data)); });
  source.addEventListener("failure", () => status(false));
  source.onerror = () => status(false);
}

document.getElementById("lang").addEventListener("click", () => {
  lang = lang === "zh" ? "en" : "zh";
  params.set("lang", lang);
  history.replaceState(null, "", `${location.pathname}?${params}`);
  applyLang();
});
applyLang();
connect();
