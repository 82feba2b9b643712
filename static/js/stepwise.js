/* Stepwise's one JavaScript module: an htmx 4 extension that animates the playground from the stream.
 *
 * htmx does everything that is a request (buttons, the setup form, uploads) and swaps server-rendered
 * fragments. This extension does only what HTML swaps cannot do cheaply (measured: JSON frames cost
 * ~3 KB and ~12 ms of main thread per message, HTML out-of-band swaps 4-5x more):
 *   - listen to the run's Server-Sent Events (`data-stream` on #page) and apply each compact JSON frame
 *     (docs/architecture.md "Frames") by setting attributes on SVG elements with stable ids
 *     (node n{l}_{j}, link w{l}_{j}_{i}, bias b{l}_{j}); CSS transitions one frame long smooth it;
 *   - paint heat maps (base64 uint8 grids) on canvases, grow the loss chart;
 *   - keyboard shortcuts (space, →, ←, r), hover values, click-to-edit weights, click-to-add points.
 * It computes nothing about the network: every value comes from the server.
 */
(() => {
  "use strict";

  // Colour-blind-safe diverging scale (TF Playground's): orange = −1, grey = 0, blue = +1.
  const NEG = [245, 147, 34], MID = [232, 234, 235], POS = [8, 119, 189];
  const PALETTE = new Uint8ClampedArray(256 * 3);  // byte b -> colour of value b / 127.5 − 1
  for (let b = 0; b < 256; b++) {
    const v = b / 127.5 - 1, end = v < 0 ? NEG : POS, t = Math.min(1, Math.abs(v));
    for (let c = 0; c < 3; c++) PALETTE[b * 3 + c] = MID[c] + (end[c] - MID[c]) * t;
  }
  const CLASS_COLOURS = ["#f59322", "#0877bd", "#2ca25f", "#9e58b8", "#d6604d", "#4d4d4d"];
  const CLASS_RGB = CLASS_COLOURS.map((h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)));

  /** CSS colour of a value in [−1, 1] (clipped). */
  function colour(v) {
    const b = Math.round((Math.max(-1, Math.min(1, v)) + 1) * 127.5) * 3;
    return `rgb(${PALETTE[b]},${PALETTE[b + 1]},${PALETTE[b + 2]})`;
  }

  /** The layers a drawing marks as 0..1 (data-unit-layers="1,3"), cached on the element. */
  function netLayers(net) {
    if (!net._halves) net._halves = new Set((net.dataset.unitLayers || "").split(",").filter(Boolean).map(Number));
    return net._halves;
  }

  /** Class k's colour at probability p: white at 0, the class's full colour at 1 (as the plot paints). */
  function classColour(k, p) {
    const rgb = CLASS_RGB[k % CLASS_RGB.length], t = Math.max(0, Math.min(1, p));
    return `rgb(${rgb.map((c) => Math.round(255 + (c - 255) * t)).join(",")})`;
  }

  /** base64 -> Uint8Array of res*res bytes (row 0 = lowest x₂). */
  function decode(b64) {
    const raw = atob(b64), out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  /** Paint a res×res byte grid on a canvas context, flipping rows so +x₂ is up. */
  function paintGrid(ctx, bytes, res, discretize) {
    const img = ctx.createImageData(res, res);
    for (let row = 0; row < res; row++) {
      for (let col = 0; col < res; col++) {
        let b = bytes[row * res + col];
        if (discretize) b = b >= 128 ? 255 : 0;
        const o = ((res - 1 - row) * res + col) * 4, p = b * 3;
        img.data[o] = PALETTE[p]; img.data[o + 1] = PALETTE[p + 1]; img.data[o + 2] = PALETTE[p + 2];
        img.data[o + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
  }

  const scratch = document.createElement("canvas");
  /** A grid as a PNG data URL (for SVG <image> node maps). */
  function gridURL(b64, res) {
    scratch.width = scratch.height = res;
    paintGrid(scratch.getContext("2d"), decode(b64), res, false);
    return scratch.toDataURL();
  }

  // The page's words in its language (base.html's <html data-messages>, app/i18n.py js_messages).
  const WORDS = (() => {
    try { return JSON.parse(document.documentElement.dataset.messages || "{}"); } catch { return {}; }
  })();
  const say = (key, fallback) => WORDS[key] || fallback;
  // A diverged run's words in the page's language: the server's template filled in with the frame's
  // figures (app/frames.py divergence_figures); the frame's English words when it carries no figures.
  function divergedWords(f) {
    const figures = f.divergence;
    if (!figures || !WORDS.diverged) return f.diverged;
    const filled = { ...figures, loss: figures.loss ?? say("not_finite", "not a finite number") };
    return WORDS.diverged.replace(/\{(\w+)\}/g, (whole, name) => (name in filled ? String(filled[name]) : whole));
  }

  // ---- state ---------------------------------------------------------------------------------------
  const state = {
    source: null, url: null,      // the EventSource and its URL
    els: new Map(),               // id -> element cache, cleared after every swap
    prevW: null,                  // previous frame's weights, to flash the ones that changed
    pending: null, raf: 0,        // newest frame not yet applied (apply at most once per animation frame)
    lastMaps: null, frame: null, net: null,
    stats: { framesReceived: 0, framesApplied: 0, lastId: -1 },
  };
  window.Stepwise = { stats: state.stats };  // read by the browser tests and the curious
  // the class dashboard's tiles paint the same heat maps (static/js/dashboard.js)
  window.Stepwise.paintMap = (ctx, m) => (m.classes && m.classes.length > 2
    ? paintClasses(ctx, m.classes, m.res, false) : paintGrid(ctx, decode(m.out), m.res, false));

  function el(id) {
    let e = state.els.get(id);
    if (e === undefined) { e = document.getElementById(id); state.els.set(id, e); }
    return e;
  }

  // ---- the stream ----------------------------------------------------------------------------------
  function connect(url) {
    if (state.url === url && state.source) return;
    if (state.source) state.source.close();
    state.url = url;
    state.source = new EventSource(url);
    const onMessage = (ev) => {
      state.stats.framesReceived++;
      const frame = JSON.parse(ev.data);
      if (ev.type === "snapshot") { state.prevW = null; }
      if (frame.maps) state.lastMaps = frame.maps;
      // Conflate: a frame that arrives before the last one was painted replaces it (keep its maps).
      if (state.pending && state.pending.maps && !frame.maps) frame.maps = state.pending.maps;
      state.pending = frame;
      if (!state.raf) state.raf = requestAnimationFrame(flush);
    };
    state.source.addEventListener("snapshot", onMessage);
    state.source.addEventListener("frame", onMessage);
    state.source.addEventListener("closed", () => state.source.close());
    state.source.addEventListener("open", () => streamStatus(""));
    // EventSource retries a dropped stream by itself, but gives up on a refusal (a 429: too many streams
    // open from this address or in all). Then ask once for the reason, say it, and try again later.
    state.source.addEventListener("error", () => {
      const source = state.source;
      if (source.readyState !== EventSource.CLOSED) { streamStatus(say("interrupted", "Live updates interrupted; reconnecting…")); return; }
      const abort = new AbortController();
      fetch(url, { signal: abort.signal, headers: { Accept: "application/json" } })
        .then((r) => (r.ok ? null : r.json().then((body) => (body.detail && body.detail.message) || say("status", "status {status}").replace("{status}", String(r.status)))))
        .catch(() => "the server cannot be reached")
        .then((reason) => {
          abort.abort();
          const wait = 3000 + Math.random() * 4000;  // spread a whole class's retries out
          streamStatus(say("no_updates", "No live updates: {reason}. Trying again in {seconds} s…")
            .replace("{reason}", reason || say("stream_closed", "the stream closed"))
            .replace("{seconds}", String(Math.round(wait / 1000))));
          setTimeout(() => { if (state.source === source) { state.source = null; connect(url); } }, wait);
        });
    });
  }

  /** Say why the page is not live (empty: it is). */
  function streamStatus(text) {
    const e = document.getElementById("stream-status");
    if (e) { e.textContent = text; e.hidden = !text; }
  }

  function flush() {
    state.raf = 0;
    const frame = state.pending;
    state.pending = null;
    if (frame) applyFrame(frame);
  }

  // ---- applying a frame ----------------------------------------------------------------------------
  /** Set one style property unless it already has that value (cached on the element). */
  function paint(e, prop, value) {
    if (!e) return;
    const cache = e._sw || (e._sw = {});
    if (cache[prop] !== value) { cache[prop] = value; e.style[prop] = value; }
  }

  /** The live value of a node / link / bias id from the last frame applied: [value, delta, grad]. */
  function valueOf(id) {
    const f = state.frame;
    if (!f) return [undefined, undefined, undefined];
    const m = /^([nwb])(\d+)_(\d+)(?:_(\d+))?$/.exec(id || "");
    if (!m) return [undefined, undefined, undefined];
    const [kind, l, j, i] = [m[1], Number(m[2]), Number(m[3]), Number(m[4])];
    const at = (arr, ...ix) => ix.reduce((a, x) => (a == null ? undefined : a[x]), arr);
    if (kind === "n") return [at(f.act, l, j), at(f.delta, l, j), undefined];
    if (kind === "w") return [at(f.w, l, j, i), undefined, at(f.g, l, j, i)];
    const b = at(f.b, l, j);
    return [Array.isArray(b) ? b[0] : b, undefined, undefined];
  }

  function setText(id, text) { const e = el(id); if (e && e.textContent !== text) e.textContent = text; }
  const SUPERSCRIPT = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };
  /** A loss as the page shows it: 3 decimals, or 7.23·10⁴⁷ once it no longer fits (as engine/printed.py loss). */
  function num(v) {
    if (v === null || v === undefined || !isFinite(v)) return "—";
    if (Math.abs(v) < 1000) { const t = Number(v).toFixed(3); return t === "-0.000" ? "0.000" : t.replace("-", "−"); }
    const [mantissa, exponent] = Number(v).toExponential(2).split("e");
    return `${mantissa.replace("-", "−")}·10${String(Number(exponent)).replace(/[-0-9]/g, (c) => SUPERSCRIPT[c])}`;
  }
  /** An accuracy as the page shows it: 97.3 % (as engine/printed.py percent). */
  function percent(v) { return `${(100 * v).toFixed(1).replace(/^-(0\.0)$/, "$1").replace("-", "−")} %`; }
  window.Stepwise.num = num;  // the mirror of engine/printed.py, compared value by value in tests/e2e
  window.Stepwise.percent = percent;

  /** Apply a frame; `replay` repaints the newest frame onto a freshly swapped drawing (not counted). */
  function applyFrame(f, replay = false) {
    setText("c-epoch", String(f.epoch)); setText("c-batch", String(f.batch));
    // epoch and batch are counts (done); the sample is the one being worked on, counted from 1 as the
    // inspector does ("sample 3 of the batch"), and none between batches
    setText("c-sample", f.phase ? String(f.sample + 1) : "—"); setText("c-phase", f.phase ? say(`phase_${f.phase}`, f.phase) : "—");
    // η as the server prints it (engine/printed.py rate): the frame carries the text beside the number
    if (f.lr !== undefined) { setText("c-eta", f.lr_text ?? String(f.lr)); eta(f); }
    // Back has nowhere to go at the start or at the oldest point the history keeps: say so, not silence
    const back = el("btn-back"), note = el("back-note");
    if (back && "can_back" in f && back.disabled === f.can_back) {
      back.disabled = !f.can_back;
      back.title = f.can_back ? say("step_back", "Step back (←)")
        : say("oldest", "Nothing further back: this is the oldest point kept");
      if (note) note.hidden = f.can_back;
    }
    const page = el("page");
    if (page) { page.dataset.phase = f.phase || ""; page.dataset.step = String(f.id); }

    // Only what changed is written: during play most link widths and colours stay put from one frame
    // to the next, and every style write costs a style recalculation (measured: the main cost).
    // Values for hover and the editor are read from the frame itself (valueOf), not kept in attributes.
    // Probabilities (sigmoid, softmax outputs) are coloured as 2p − 1, so p = 0.5 is the neutral grey.
    // Sigmoid layers (0..1, data-unit-layers) likewise, as the server draws their maps; softmax outputs
    // take their class's colour (the plot's), stronger = more probable.
    const net = el("net"), last = f.act ? f.act.length - 1 : -1, prob = net && net.dataset.probability === "1";
    const halves = net ? netLayers(net) : new Set(), classes = net && net.dataset.classOutputs === "1";
    if (f.act) f.act.forEach((layer, l) => layer.forEach((a, j) => {
      if (classes && l === last) { paint(el(`n${l}_${j}`), "fill", classColour(j, a ?? 0)); return; }
      const v = (prob && l === last) || halves.has(l) ? 2 * (a ?? 0.5) - 1 : a ?? 0;
      paint(el(`n${l}_${j}`), "fill", colour(v));
    }));
    const flashing = f.phase === "update" && f.focus && state.prevW;
    f.w.forEach((layer, l) => layer.forEach((row, j) => row.forEach((w, i) => {
      const k = el(`w${l}_${j}_${i}`);
      if (!k) return;
      paint(k, "stroke", (w ?? 0) >= 0 ? "var(--pos)" : "var(--neg)");
      // Quarter-pixel steps: a width change repaints the drawing, and finer steps are not visible.
      paint(k, "strokeWidth", String(Math.min(8, Math.round((0.6 + 4 * Math.abs(w ?? 0)) * 4) / 4)));
      // Update micro-step: the links of the unit just updated flash (the ones whose weight moved).
      if (flashing && l === f.focus.layer && j === f.focus.unit) {
        const before = state.prevW[l] && state.prevW[l][j] ? state.prevW[l][j][i] : w;
        if (before !== w && !REDUCED_MOTION.matches) k.animate([{ opacity: 1, strokeOpacity: 0.3 }, { opacity: 1, strokeOpacity: 1 }],
                                    { duration: 450 });
      }
    })));
    state.prevW = f.w;
    f.b.forEach((layer, l) => layer.forEach((b, j) => {
      const v = Array.isArray(b) ? b[0] : b;
      paint(el(`b${l}_${j}`), "fill", colour(v ?? 0));
    }));
    state.frame = f;
    describeNet();
    focus(f);
    followInspector(f);
    losses(f);
    if (f.maps) maps(f.maps);
    else if (state.lastMaps && (f.point ?? null) !== state.marked) drawBoundary(state.lastMaps);  // move the ring
    state.marked = f.point ?? null;
    const div = el("divergence");
    if (div) { div.hidden = !f.diverged; if (f.diverged) setText("divergence-text", divergedWords(f)); }
    if (!f.diverged) setText("play-error", "");  // a refused play's reason is gone once the run recovers
    else if (!replay) showStopped();
    if (!replay) { state.stats.framesApplied++; state.stats.lastId = f.id; }
  }

  // Play stops by itself when the run diverges (app/play.py): the owner's pause button asks for the
  // play button back (pause of a stopped run changes nothing), so the page no longer says it is playing.
  // The diverged frame can arrive on the stream before the answer to the play click is swapped in (a
  // busy server): setup() asks again after every swap, so a pause button that came late turns back too.
  function showStopped() {
    const button = document.getElementById("btn-play");
    if (!button || button.getAttribute("aria-pressed") !== "true") return;
    if (document.getElementById("page")?.dataset.readonly) return;  // a viewer's controls are not theirs
    // a diverged frame from before this play began (a Back whose frame is still on its way) is not its end
    if (state.frame && state.frame.id <= Number(button.dataset.since ?? -1)) return;
    if ((button.getAttribute("hx-post") || "").endsWith("/pause")) button.click();
  }

  // A play refused while diverged says "see the red box under the output plot"; on a projector that box
  // is below the fold, so a new refusal brings it into view (the run controls stay, they are sticky).
  let refusalShown = "";
  function showRefusedWhy() {
    const refused = document.getElementById("play-error")?.textContent || "";
    if (refused && refused !== refusalShown && state.frame?.diverged) {
      document.getElementById("divergence")?.scrollIntoView({ block: "nearest" });
    }
    refusalShown = refused;
  }

  const REDUCED_MOTION = window.matchMedia("(prefers-reduced-motion: reduce)");

  /** The drawing as text (#net-values, while it is open): each layer's neurons and their values at the
   * current step, from the frame as hover reads them, so a screen reader can walk the network. */
  function describeNet() {
    const box = el("net-values"), list = el("net-values-list");
    if (!box || !list || !box.open) return;
    const titles = [...document.querySelectorAll("#net .col-title")].map((t) => t.textContent);
    const layers = [];
    document.querySelectorAll("#net .node-box").forEach((node) => {
      const m = /^n(\d+)_(\d+)$/.exec(node.id);
      if (!m) return;
      const [value, delta] = valueOf(node.id);
      let text = `${node.dataset.label} = ${value == null ? "—" : value}`;
      if (delta != null) text += `, δ = ${delta}`;
      (layers[Number(m[1])] ||= []).push(text);
    });
    const parts = layers.map((texts, l) => {
      const head = document.createElement("p"), items = document.createElement("ol");
      head.textContent = titles[l] || "";
      for (const text of texts) { const li = document.createElement("li"); li.textContent = text; items.append(li); }
      return [head, items];
    });
    list.replaceChildren(...parts.flat());
  }
  document.addEventListener("toggle", (ev) => { if (ev.target.id === "net-values") describeNet(); }, true);

  /** Highlight the focused neuron and the links it reads (forward) or that carry δ back (backward). */
  let lit = [];
  function focus(f) {
    for (const e of lit) e.classList.remove("focus", "reading", "flow-back");
    lit = [];
    const net = el("net");
    if (net) net.dataset.phase = f.phase || "";
    if (!f.focus || !net) return;
    const { layer, unit } = f.focus;
    const mark = (e, cls) => { if (e) { e.classList.add(cls); lit.push(e); } };
    mark(el(`n${layer}_${unit}`), "focus");
    if (f.phase === "forward" || f.phase === "update" || f.phase === "accumulate") {
      const prev = f.w[layer] ? f.w[layer][unit].length : 0;
      for (let i = 0; i < prev; i++) mark(el(`w${layer}_${unit}_${i}`), "reading");
      mark(el(`b${layer}_${unit}`), "reading");
    } else if (f.phase === "backward" && f.w[layer + 1]) {
      f.w[layer + 1].forEach((_, k) => mark(el(`w${layer + 1}_${k}_${unit}`), "flow-back"));
    } else if (f.phase === "error") {
      mark(el(`n${layer}_${unit}`), "flow-back");
    }
  }

  // The inspector follows the run without a request of its own: the stream's frames carry its HTML
  // (app/live_inspector.py: built once per run however many tabs follow it; while playing, and after every
  // change by hand, which is what a follower of a presented run needs). It is swapped in when it describes
  // a newer step than the one shown (a pause or a step answered first must not be overwritten by an older
  // one). Only a frame without it makes a live inspector fetch its formula itself: a frame newer than the
  // formula fires stepwise:newer-frame on it, and its hx-get / hx-trigger / hx-sync do one request at a
  // time (templates/partials/inspector.html).
  function followInspector(f) {
    const shown = document.getElementById("inspector");
    if (!shown) return;
    if (f.inspector) {
      const holder = document.createElement("template");
      holder.innerHTML = f.inspector.trim();
      const fresh = holder.content.firstElementChild;
      const title = (e) => e.querySelector("#inspector-title")?.textContent;
      const step = Number(fresh?.dataset.step), before = Number(shown.dataset.step);
      // newer, or the same step seen another way (play by batch began: the words for play)
      if (fresh && (step > before || (step === before && title(fresh) !== title(shown)))) {
        // in place, not replaceWith: a request in flight (a step, an edit) targets this very element,
        // and its answer must still land on the page
        for (const { name } of [...shown.attributes]) if (!fresh.hasAttribute(name)) shown.removeAttribute(name);
        for (const { name, value } of [...fresh.attributes]) if (shown.getAttribute(name) !== value) shown.setAttribute(name, value);
        shown.replaceChildren(...fresh.childNodes);
        htmx.process(shown);
      }
      return;
    }
    if (shown.dataset.live === "1" && Number(shown.dataset.step) < f.id) htmx.trigger(shown, "stepwise:newer-frame");
  }

  function losses(f) {
    if (!f.loss) return;
    setText("loss-train", num(f.loss.train)); setText("loss-test", num(f.loss.test));
    setText("loss-reg", num(f.loss.reg));
    if (f.acc) setText("acc", `${percent(f.acc.train)} / ${percent(f.acc.test ?? 0)}`);
    // The loss chart is the run's metrics log drawn by the server (app/charts.py): after a frame at
    // another batch it is fetched again, so Back, a reload or another tab draw the same chart.
    charts.want = `${f.epoch}:${f.batch}:${f.diverged ? 1 : 0}`;
    refreshCharts();
  }

  // One chart request at a time, at most every CHART_INTERVAL ms; the last change is always fetched.
  const CHART_INTERVAL = 400;
  const charts = { want: null, have: null, busy: false, timer: 0, last: 0, element: null };
  function refreshCharts() {
    const page = el("page");
    if (!page || charts.busy || charts.want === charts.have || charts.timer) return;
    const wait = charts.last + CHART_INTERVAL - performance.now();
    if (wait > 0) { charts.timer = setTimeout(() => { charts.timer = 0; refreshCharts(); }, wait); return; }
    const asked = charts.want;
    charts.busy = true; charts.last = performance.now();
    fetch(`/ui/${page.dataset.session}/charts`, { headers: { "HX-Request": "true" } })
      .then((r) => (r.ok ? r.text() : null))
      .then((html) => {
        const current = document.getElementById("charts");
        if (!html || !current) return;
        const holder = document.createElement("template");
        holder.innerHTML = html.trim();
        const fresh = holder.content.firstElementChild;
        if (fresh && Number(fresh.dataset.step) >= Number(current.dataset.step)) {
          current.replaceWith(fresh);
          charts.element = fresh;
          state.els.delete("eta-plot"); state.els.delete("eta-marker");
          if (state.frame) eta(state.frame);
        }
        charts.have = asked;
      })
      .catch(() => {})
      .finally(() => { charts.busy = false; refreshCharts(); });
  }

  /** Slide the η plot's marker to the frame's position (the plot's scale is in its data attributes). */
  function eta(f) {
    const plot = el("eta-plot"), marker = el("eta-marker");
    if (!plot || !marker || f.updates === undefined || f.lr === null) return;
    const d = plot.dataset, batches = Math.min(f.updates, Number(d.horizon));
    marker.setAttribute("cx", (Number(d.x0) + batches * Number(d.perBatch)).toFixed(1));
    marker.setAttribute("cy", (Number(d.y0) - f.lr * Number(d.perEta)).toFixed(1));
  }

  // ---- heat maps -----------------------------------------------------------------------------------
  function maps(m) {
    for (const [id, b64] of Object.entries(m.nodes || {})) {
      const img = el(`m${id.slice(1)}`);
      if (img) img.setAttribute("href", gridURL(b64, m.node_res || m.res));
    }
    // A single output neuron shows the whole prediction surface, like the plot on the right.
    const out = document.querySelector("#net .node.output image.node-map");
    if (out && m.out && !(m.classes && m.classes.length > 1)) out.setAttribute("href", gridURL(m.out, m.res));
    drawBoundary(m);
  }


  /** Several classes (maps.classes: one probability map per class, byte = p·255): each pixel takes the
   * colour of its most probable class, paler where the network is less sure (white at 1/k). */
  function paintClasses(ctx, classes, res, discretize) {
    const grids = classes.map(decode), k = grids.length, img = ctx.createImageData(res, res);
    for (let row = 0; row < res; row++) {
      for (let col = 0; col < res; col++) {
        const i = row * res + col;
        let best = 0;
        for (let c = 1; c < k; c++) if (grids[c][i] > grids[best][i]) best = c;
        const p = grids[best][i] / 255, t = discretize ? 0.75 : Math.max(0, (p - 1 / k) / (1 - 1 / k)) * 0.8;
        const rgb = CLASS_RGB[best % CLASS_RGB.length], o = ((res - 1 - row) * res + col) * 4;
        for (let ch = 0; ch < 3; ch++) img.data[o + ch] = 255 + (rgb[ch] - 255) * t;
        img.data[o + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
  }

  function drawBoundary(m) {
    const c = el("boundary");
    if (!c || !m) return;
    const ctx = c.getContext("2d"), res = m.res;
    scratch.width = scratch.height = res;
    if (m.classes && m.classes.length > 2) paintClasses(scratch.getContext("2d"), m.classes, res, el("discretize")?.checked);
    else paintGrid(scratch.getContext("2d"), decode(m.out), res, el("discretize")?.checked);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(scratch, 0, 0, c.width, c.height);
    drawPoints(c, ctx, m.extent);
  }

  function drawPoints(c, ctx, extent) {
    const [x0, x1, y0, y1] = extent || (c.dataset.extent || "-6,6,-6,6").split(",").map(Number);
    const points = JSON.parse(c.dataset.points || "[]");
    const showTest = el("show-test")?.checked;
    const classes = Number(c.dataset.classes || 2), classification = c.dataset.kind === "classification";
    const radius = points.length > 600 ? 2.2 : 3.2;  // 1,200 regression points would hide the surface
    for (const [px, py, label, isTest] of points) {
      if (isTest && !showTest) continue;
      const x = ((px - x0) / (x1 - x0)) * c.width, y = c.height - ((py - y0) / (y1 - y0)) * c.height;
      ctx.beginPath(); ctx.arc(x, y, radius, 0, 2 * Math.PI);
      ctx.fillStyle = classification ? CLASS_COLOURS[label % Math.max(2, classes)] : colour(label);
      ctx.fill(); ctx.lineWidth = 1; ctx.strokeStyle = isTest ? "#000" : "#fff"; ctx.stroke();
    }
    // the sample the current micro-step works on (frame.point, its index in the data): a ring round it
    const marked = state.frame ? state.frame.point : null;
    c.dataset.marked = marked == null ? "" : String(marked);
    if (marked != null && points[marked]) {
      const [px, py] = points[marked];
      const x = ((px - x0) / (x1 - x0)) * c.width, y = c.height - ((py - y0) / (y1 - y0)) * c.height;
      ctx.beginPath(); ctx.arc(x, y, radius + 4, 0, 2 * Math.PI);
      ctx.lineWidth = 2; ctx.strokeStyle = "#111"; ctx.stroke();
    }
  }

  /** Static maps the server rendered into data-map attributes (input features, first paint). */
  function paintStaticMaps(root) {
    root.querySelectorAll("canvas[data-map]").forEach((c) => {
      if (c.dataset.map) paintGrid(c.getContext("2d"), decode(c.dataset.map), Number(c.dataset.res), false);
    });
    root.querySelectorAll("image[data-map]").forEach((img) => {
      img.setAttribute("href", gridURL(img.dataset.map, Number(img.dataset.res)));
    });
  }

  // ---- page wiring ---------------------------------------------------------------------------------
  /** Size the network drawing to its panel: grow small nets (up to 1.6x, within about half the screen
   * height) and shrink big ones until the whole width fits (up to 6 hidden layers of 16 units at 1024 px:
   * ~0.55x), never scrolling sideways. Height alone shrinks it to 0.6x at most: a tall net may make the
   * page longer, but the output stays in view. Below LABEL_SCALE the labels are enlarged in drawing units
   * so they stay ~8 px on screen; below MAP_SCALE the node heat maps (a few pixels) give way to the
   * plain node colour, which still shows the value. */
  const LABEL_SCALE = 0.75, MAP_SCALE = 0.4;
  const STACKED = "(max-width: 900px)";  // screens.css "Layouts": the panels one under the other
  function sizeNet() {
    const net = document.getElementById("net");
    if (!net) return;
    const [, , w, h] = net.getAttribute("viewBox").split(" ").map(Number);
    const panel = net.parentElement, style = getComputedStyle(panel);
    const available = panel.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 2;
    // Wide layout (the inspector beside the drawing): the whole drawing fits between its top and the
    // window's bottom, less the hint lines under it, so the step buttons, the network and the formula
    // are in view together. Stacked (narrow): about half the window, the inspector comes below.
    const room = window.innerHeight - (net.getBoundingClientRect().top + window.scrollY) - 96;
    const tallest = window.matchMedia(STACKED).matches ? Math.min(420, window.innerHeight * 0.52)
      : Math.max(200, Math.min(420, room));
    const scale = Math.min(1.6, available / w, Math.max(0.6, tallest / h));
    net.style.width = `${Math.floor(w * scale)}px`;
    net.style.height = `${Math.floor(h * scale)}px`;
    net.style.setProperty("--label-grow", String(Math.max(1, LABEL_SCALE / scale)));
    net.dataset.scale = scale.toFixed(3);
    net.classList.toggle("tiny", scale < MAP_SCALE);
  }
  window.addEventListener("resize", sizeNet);

  // ---- computation-graph page -----------------------------------------------------------------------
  /** Keep the current node of the graph page in view: a wide expression's graph scrolls sideways, and
   * each step's swap brings a new panel. The old panel's scroll position is kept (no jump back to the
   * left edge), then the panel scrolls only if the current node is (partly) outside it. */
  let graphScroll = 0;
  function revealGraphNode() {
    const box = document.querySelector(".graph-scroll");
    if (!box) return;
    box.scrollLeft = graphScroll;
    const node = box.querySelector(".graph-value.current");
    if (node) {
      const b = box.getBoundingClientRect(), n = node.getBoundingClientRect(), margin = 16;
      if (n.left < b.left + margin || n.right > b.right - margin) {
        box.scrollLeft += n.left + n.width / 2 - (b.left + b.width / 2);
      }
    }
    graphScroll = box.scrollLeft;
  }
  document.addEventListener("scroll", (ev) => {
    if (ev.target instanceof Element && ev.target.matches(".graph-scroll")) graphScroll = ev.target.scrollLeft;
  }, true);

  function setup(root) {
    state.els.clear();
    revealGraphNode();
    const page = document.getElementById("page");
    if (!page) return;
    sizeNet();
    paintStaticMaps(root);
    // A re-rendered #page (setup change, regenerate, upload) brings a bare drawing. The frame the server
    // sent for the change often arrives before the htmx response is swapped in, so it was painted on
    // the old elements: repaint the newest frame and maps on the new ones (a later frame overrides).
    const net = document.getElementById("net");
    if (net && net !== state.net) {
      state.net = net;
      if (state.frame) applyFrame(state.frame, true);
      if (state.lastMaps) maps(state.lastMaps);
    }
    // A re-rendered #page brings charts drawn by the server after the change: fetch them again only
    // once a frame moves on (a swap of another part, the inspector, keeps the charts element).
    const drawn = document.getElementById("charts");
    if (drawn && drawn !== charts.element) {
      charts.element = drawn;
      charts.have = charts.want;
    }
    if (state.lastMaps) drawBoundary(state.lastMaps);
    else { const c = document.getElementById("boundary"); if (c) drawPoints(c, c.getContext("2d"), null); }
    if (state.frame) followInspector(state.frame);
    if (state.frame?.diverged) showStopped();
    if (page.dataset.stream) connect(page.dataset.stream);
  }

  const KEYS = { " ": "btn-play", ArrowRight: "btn-step", ArrowLeft: "btn-back", r: "btn-reset" };
  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    // keys typed in the lesson panel are its own (space on its Check button checks, it does not play)
    if (ev.target.closest && ev.target.closest("input, select, textarea, [contenteditable], #lesson-panel")) return;
    const id = KEYS[ev.key];
    if (!id) return;
    const button = document.getElementById(id);
    // :disabled also covers a button inside a disabled fieldset (someone else's run, read-only)
    if (button && !button.matches(":disabled")) { ev.preventDefault(); button.click(); }
  });

  // Hover, or a tap (a touch screen has no hover): the live value of a link, node or bias (read from
  // the last frame applied).
  function showValue(ev) {
    const t = ev.target.closest && ev.target.closest("#net [data-label]");
    const out = document.getElementById("hover-value");
    if (!t || !out) return;
    const [value, delta, grad] = valueOf(t.id);
    let text = `${t.dataset.label} = ${value == null ? "—" : value}`;
    if (delta != null) text += `, δ = ${delta}`;
    // the frame's gradient is the whole batch's (the mean over its samples), not this sample's one the
    // inspector prints while a sample is being worked on: say so
    if (grad != null) text += say("batch_gradient", ", the batch's ∂L/∂w (mean over its samples) = {value}")
      .replace("{value}", grad);
    out.textContent = text;
  }
  document.addEventListener("mouseover", showValue);

  document.addEventListener("click", (ev) => {
    showValue(ev);
    const graph = ev.target.closest && ev.target.closest("#show-graph");
    const view = new URLSearchParams(window.location.search).get("view");
    // the neuron's graph opens in the page's own view (the projector's: app/routes/graph.py)
    if (graph && view) graph.href = `${graph.pathname}?view=${encodeURIComponent(view)}`;
    if (el("page")?.dataset.readonly) return;  // someone else's run: clicks edit nothing
    const form = document.getElementById("edit-weight");
    const target = ev.target.closest && ev.target.closest("#net .link, #net .bias");
    if (target && form) {  // click a link or bias: edit its value
      form.hidden = false;
      form.elements.layer.value = target.dataset.layer;
      form.elements.unit.value = target.dataset.unit;
      form.elements.input.value = target.dataset.input ?? "";
      form.elements.value.value = valueOf(target.id)[0] ?? "";
      document.getElementById("edit-weight-name").textContent = target.dataset.label;
      form.elements.value.focus();
      return;
    }
    if (ev.target.closest && ev.target.closest("#edit-weight .cancel")) { form.hidden = true; return; }
    const plot = ev.target.closest && ev.target.closest("#boundary");
    const pointForm = document.getElementById("point-form");
    const removeForm = document.getElementById("point-remove-form");
    if (plot && removeForm && el("click-removes")?.checked) {  // remove the point under the click
      const index = pointNear(plot, ev.clientX, ev.clientY, 8);
      const error = document.getElementById("point-error");
      if (index === null) { if (error) error.textContent = say("no_point", "No point there: click on a drawn point to remove it."); return; }
      if (error) error.textContent = "";
      removeForm.elements.index.value = String(index);
      removeForm.requestSubmit();
    } else if (plot && pointForm) {  // click the output plot: add a point of the chosen class there
      const r = plot.getBoundingClientRect();
      const [x0, x1, y0, y1] = plot.dataset.extent.split(",").map(Number);
      clicks.queue.push([(x0 + ((ev.clientX - r.left) / r.width) * (x1 - x0)).toFixed(3),
                         (y1 - ((ev.clientY - r.top) / r.height) * (y1 - y0)).toFixed(3)]);
      sendPoint();
    }
  });

  // Clicks on the plot are queued and posted one at a time: each answer re-renders #page (a new form),
  // and a click while one is in flight would otherwise be dropped (15 quick clicks added 4 points).
  const clicks = { queue: [], busy: false };
  function sendPoint() {
    const form = document.getElementById("point-form");
    if (clicks.busy || !form || !clicks.queue.length) return;
    const [x1, x2] = clicks.queue.shift();
    clicks.busy = true;
    form.elements.x1.value = x1; form.elements.x2.value = x2;
    form.requestSubmit();
  }
  /** A point request ended (its answer swapped in, or refused): send the next queued click, if any. */
  function pointDone(elt, detail) {
    if (!elt || elt.id !== "point-form") return;
    clicks.busy = false;
    const status = detail && detail.ctx && detail.ctx.response ? detail.ctx.response.status : 0;
    if (status >= 400 || status === 0) clicks.queue = [];  // refused (the message is shown): stop there
    setTimeout(sendPoint, 0);
  }

  /** Index of the drawn point nearest to a click within `radius` CSS pixels, or null. The index is the
   * point's position in the canvas's data-points list, which is the data's own order (the index the
   * API's DELETE .../data/points/{index} takes); hidden test points cannot be clicked. */
  function pointNear(plot, clientX, clientY, radius) {
    const r = plot.getBoundingClientRect();
    const [x0, x1, y0, y1] = plot.dataset.extent.split(",").map(Number);
    const points = JSON.parse(plot.dataset.points || "[]"), showTest = el("show-test")?.checked;
    const cx = clientX - r.left, cy = clientY - r.top;
    let best = null, bestDistance = radius * radius;
    points.forEach(([px, py, , isTest], i) => {
      if (isTest && !showTest) return;
      const dx = ((px - x0) / (x1 - x0)) * r.width - cx, dy = r.height - ((py - y0) / (y1 - y0)) * r.height - cy;
      if (dx * dx + dy * dy <= bestDistance) { best = i; bestDistance = dx * dx + dy * dy; }
    });
    return best;
  }
  // A slider's percentage follows it while dragging (the setup is posted on release).
  document.addEventListener("input", (ev) => {
    const t = ev.target;
    if (!t.matches || !t.matches("input[type=range][data-percent]")) return;
    const out = t.parentElement && t.parentElement.querySelector("output");
    if (out) out.textContent = `${Math.round(Number(t.value) * 100)} %`;
  });

  /** A view setting (step by, speed, show test data, discretize, click mode) goes into the page's URL:
   * htmx sends that URL with every request (HX-Current-URL), so the server renders a re-drawn page with
   * the settings as they were, and a reload keeps them. Defaults (data-default, from app/urlstate.py) are
   * left out of the URL. */
  function rememberView(input) {
    const key = input.dataset.view;
    const value = input.type === "checkbox" ? (input.checked ? "1" : "0") : input.value;
    const url = new URL(window.location.href);
    if (value === input.dataset.default) url.searchParams.delete(key); else url.searchParams.set(key, value);
    history.replaceState(history.state, "", url);
  }

  document.addEventListener("change", (ev) => {
    // After choosing from any dropdown, give the keys back to the page: otherwise the next → would
    // change the still-focused select instead of stepping. (Controls that join the setup form with
    // form="setup" post it through the form's own hx-trigger, "change from:[form=setup]".)
    if (ev.target.matches && ev.target.matches("select")) ev.target.blur();
    if (ev.target.dataset && ev.target.dataset.view) rememberView(ev.target);
    if ((ev.target.id === "step-unit" || ev.target.id === "speed")
        && document.getElementById("btn-play")?.getAttribute("aria-pressed") === "true") {
      document.getElementById("btn-replay")?.click();
    }
    if (ev.target.id === "discretize" || ev.target.id === "show-test") {
      if (state.lastMaps) drawBoundary(state.lastMaps);
    }
  });

  htmx.registerExtension("stepwise", {
    init: () => { document.addEventListener("DOMContentLoaded", () => setup(document)); },
    htmx_finally_request: pointDone,
    htmx_after_swap: () => {
      setup(document);
      const form = document.getElementById("edit-weight");
      if (form) form.hidden = true;  // an edit was answered (or the page re-rendered): close the editor
      showRefusedWhy();
    },
  });
  if (document.readyState !== "loading") setup(document);
})();
