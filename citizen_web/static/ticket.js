// Live ticket page: Server-Sent Events from the node's mirror; the page works without this file.
(function () {
  "use strict";
  var box = document.getElementById("ticket");
  var live = document.getElementById("live");
  if (!box || !live || !window.EventSource) return;
  function $(id) { return document.getElementById(id); }
  function show(id, on) { var e = $(id); if (e) e.classList.toggle("hidden", !on); }
  function text(id, v) { var e = $(id); if (e && v !== undefined) e.textContent = v; }
  function alertUser() {
    // browsers refuse to vibrate for a page nobody has touched yet (and say so in the console)
    var touched = !navigator.userActivation || navigator.userActivation.hasBeenActive;
    try { if (navigator.vibrate && touched) navigator.vibrate([400, 150, 400, 150, 400]); } catch (e) {}
    try {
      var C = window.AudioContext || window.webkitAudioContext, ctx = new C(), o = ctx.createOscillator(), g = ctx.createGain();
      o.frequency.value = 880; g.gain.value = 0.2; o.connect(g); g.connect(ctx.destination);
      o.start(); o.stop(ctx.currentTime + 0.6);
    } catch (e) {}
  }
  // EventSource retries by itself after a dropped connection, but gives up for good on any answer other than a
  // stream (429 too many pages, 502/503 while a node restarts): then open a new one after a while, a few times.
  var es, tries = 0, done = false;
  function connect() {
    es = new EventSource(box.getAttribute("data-events"));
    es.onopen = function () { tries = 0; live.textContent = box.getAttribute("data-on"); live.classList.remove("off"); };
    es.onerror = function () {
      live.textContent = box.getAttribute("data-off"); live.classList.add("off");
      if (es.readyState === 2 && !done && tries < 20) {
        tries += 1;
        setTimeout(connect, (10 + Math.random() * 5) * 1000 * Math.min(tries, 4));
      }
    };
    listen(es);
  }
  function listen(es) {
    es.addEventListener("queue", function (m) {
      var d = JSON.parse(m.data); text("ahead", d.ahead); text("wait", d.wait);
    });
    es.addEventListener("call", function (m) {
      var d = JSON.parse(m.data);
      text("called", d.call); show("called", true); text("state", d.state_text);
      text("window", d.window); show("window-box", true); show("ahead-box", false); show("wait-box", false);
      var c = $("called"); c.style.animation = "none"; void c.offsetWidth; c.style.animation = "";
      alertUser();
      if (c.scrollIntoView) c.scrollIntoView({ block: "center" });
    });
    es.addEventListener("ticket", function (m) {
      var d = JSON.parse(m.data);
      text("state", d.state_text); text("ahead", d.ahead); text("wait", d.wait); text("window", d.window);
      show("ahead-box", d.waiting); show("wait-box", d.waiting); show("window-box", !!d.window);
      text("called", d.call); show("called", !!d.call); show("rate-box", d.rate);
      if (d.final) { done = true; es.close(); live.classList.add("hidden"); }
    });
  }
  connect();
})();
