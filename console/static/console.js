// OneWindow console: live parts over Server-Sent Events, minutes that tick, a beep on a red alert (WebAudio).
(function () {
  "use strict";
  var printBtn = document.getElementById("print");
  if (printBtn) { printBtn.addEventListener("click", function () { window.print(); }); }
  if (!document.getElementById("part-map")) { return; }

  var audio = null;
  var soundBtn = document.getElementById("sound");
  var soundOn = localStorage.getItem("ow_sound") !== "0";
  function label() { if (soundBtn) { soundBtn.textContent = soundOn ? soundBtn.dataset.on : soundBtn.dataset.off; } }
  function ctx() {
    if (!audio) { try { audio = new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { audio = null; } }
    return audio;
  }
  function beep() {
    var a = soundOn && ctx();
    if (!a) { return; }
    if (a.state === "suspended") { a.resume(); }
    [0, 0.3].forEach(function (at) {
      var o = a.createOscillator(), g = a.createGain();
      o.type = "square"; o.frequency.value = 880;
      g.gain.setValueAtTime(0.15, a.currentTime + at);
      g.gain.exponentialRampToValueAtTime(0.001, a.currentTime + at + 0.25);
      o.connect(g); g.connect(a.destination);
      o.start(a.currentTime + at); o.stop(a.currentTime + at + 0.26);
    });
  }
  if (soundBtn) {
    label();
    soundBtn.addEventListener("click", function () {
      soundOn = !soundOn; localStorage.setItem("ow_sound", soundOn ? "1" : "0"); label(); if (soundOn) { ctx(); }
    });
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var t = Date.parse(el.getAttribute("data-since"));
      if (!isNaN(t)) { el.textContent = String(Math.max(0, Math.floor((now - t) / 60000))); }
    });
  }
  setInterval(tick, 15000);

  var es = new EventSource("/events");
  es.addEventListener("patch", function (ev) {
    JSON.parse(ev.data).forEach(function (p) {
      var el = document.getElementById(p.id);
      if (el) { el.outerHTML = p.html; }
    });
    document.body.setAttribute("data-updated", String(Date.now()));
  });
  es.addEventListener("alert", function (ev) {
    var a = JSON.parse(ev.data);
    if (a.level === "red") { beep(); }
  });
  es.addEventListener("expired", function (ev) {
    es.close();
    window.location.href = JSON.parse(ev.data).login + "&next=" + encodeURIComponent(window.location.pathname);
  });
  es.onopen = function () { document.body.setAttribute("data-live", "1"); };
  es.onerror = function () { document.body.setAttribute("data-live", "0"); };
})();
