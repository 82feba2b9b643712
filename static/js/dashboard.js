/* The class dashboard: one EventSource for every tile (/class/CODE/stream), tiles built with DOM calls
 * (textContent only: nicknames are never parsed as HTML). Heat maps are painted with stepwise.js's palette
 * (window.Stepwise.paintMap); a tile's picture comes only when it changed. A refused or dropped stream says
 * so and EventSource retries by itself. Clicking a tile presents that student's run to the class. */
(() => {
  "use strict";
  const pct = (v) => (v === null || v === undefined ? "—" : `${(100 * v).toFixed(1)} %`);
  const num = (v) => (v === null || v === undefined ? "—" : Number(v).toFixed(3));

  function tileFor(box, t) {
    let tile = document.getElementById(`tile-${t.student}`);
    if (!tile) {
      tile = document.createElement("button");
      tile.type = "button"; tile.className = "tile"; tile.id = `tile-${t.student}`;
      tile.dataset.student = t.student;
      tile.innerHTML = '<canvas width="48" height="48" class="tile-map"></canvas><span class="tile-name"></span>' +
        '<span class="tile-setup"></span><span class="tile-figures"></span><span class="tile-lesson" hidden></span>';
      box.appendChild(tile);
    }
    return tile;
  }

  // The page's words in its language (base.html's <html data-messages>, app/i18n.py js_messages).
  const WORDS = JSON.parse(document.documentElement.dataset.messages || "{}");
  const say = (key, fallback) => WORDS[key] || fallback;

  const MARKS = { solved: "✓", tried: "✗", open: "·" };

  // A student following a lesson: which one, the step shown, each task solved (✓), tried (✗) or open (·).
  function showLesson(tile, lesson) {
    const line = tile.querySelector(".tile-lesson");
    line.hidden = !lesson;
    if (!lesson) { delete tile.dataset.lesson; return; }
    line.title = lesson.title;
    line.textContent = `${say("tile_lesson", "lesson {number}, step {step} of {steps}")
      .replace("{number}", String(lesson.number)).replace("{step}", String(lesson.step))
      .replace("{steps}", String(lesson.steps))} · ${lesson.marks.map((m) => MARKS[m]).join(" ")} ${
      say("tile_tasks", "({solved} solved, {tried} tried, of {tasks} tasks)")
        .replace("{solved}", String(lesson.solved)).replace("{tried}", String(lesson.tried))
        .replace("{tasks}", String(lesson.tasks))}`;
    tile.dataset.lesson = lesson.slug;
    tile.dataset.lessonStep = String(lesson.step);
    tile.dataset.solved = String(lesson.solved);
    tile.dataset.tried = String(lesson.tried);
  }

  function showTiles(tiles) {
    const box = document.getElementById("tiles");
    const none = document.getElementById("no-students");
    if (none) none.hidden = tiles.length > 0;
    document.getElementById("student-count").textContent = (tiles.length === 1
      ? say("one_student", "{n} student") : say("students", "{n} students")).replace("{n}", String(tiles.length));
    for (const t of tiles) {
      const tile = tileFor(box, t);
      tile.querySelector(".tile-name").textContent = t.nickname;
      tile.classList.toggle("gone", !!t.gone);
      tile.classList.toggle("playing", !!t.playing);
      tile.classList.toggle("diverged", !!t.diverged);
      showLesson(tile, t.gone ? null : t.lesson);
      if (t.gone) { tile.querySelector(".tile-figures").textContent = say("run_gone", "run gone"); continue; }
      tile.querySelector(".tile-setup").textContent = t.setup;
      tile.querySelector(".tile-figures").textContent =
        say("tile_figures", "epoch {epoch} · loss {train} / {test} · acc {acc} / {test_acc}")
          .replace("{epoch}", String(t.epoch)).replace("{train}", num(t.train_loss)).replace("{test}", num(t.test_loss))
          .replace("{acc}", pct(t.train_accuracy)).replace("{test_acc}", pct(t.test_accuracy));
      tile.dataset.epoch = String(t.epoch);
      if (t.map && t.map.out && window.Stepwise && window.Stepwise.paintMap) {
        const c = tile.querySelector("canvas");
        c.width = c.height = t.map.res;
        window.Stepwise.paintMap(c.getContext("2d"), t.map);
      }
    }
  }

  function showHandIns(rows) {
    const list = document.getElementById("handins");
    list.replaceChildren(...rows.map((h) => {
      const li = document.createElement("li"), at = document.createElement("span"), who = document.createElement("strong");
      const link = document.createElement("a");
      at.className = "at"; at.textContent = h.at; who.textContent = h.nickname;
      link.href = `/s/${h.snapshot}`; link.textContent = h.snapshot;
      li.append(at, " ", who, `: ${h.note || "—"} `, link);
      return li;
    }));
  }

  function start() {
    const board = document.getElementById("dashboard");
    if (!board) return;
    const error = document.getElementById("dashboard-error");
    const source = new EventSource(board.dataset.stream);
    source.addEventListener("tiles", (ev) => { error.textContent = ""; showTiles(JSON.parse(ev.data).tiles); });
    source.addEventListener("handins", (ev) => showHandIns(JSON.parse(ev.data).handins));
    source.onerror = () => {
      error.textContent = say("dashboard_dropped",
                              "The live connection dropped or was refused (too many open streams?); retrying…");
    };
    board.addEventListener("click", (ev) => {
      const tile = ev.target.closest && ev.target.closest(".tile");
      if (!tile) return;
      fetch(`/class/${board.dataset.code}/present/${tile.dataset.student}`, { method: "POST" })
        .then((r) => r.text().then((html) => {
          const now = document.getElementById("presenting-now");
          const holder = document.createElement("template");
          holder.innerHTML = html;
          now.textContent = r.ok ? holder.content.textContent : say("not_presented", "could not present that run");
          document.querySelectorAll(".tile.presented").forEach((t) => t.classList.remove("presented"));
          if (r.ok) tile.classList.add("presented");
        }));
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
