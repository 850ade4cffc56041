// While a chapter renders, show its progress; when it is done, reload to show its new state and audio.
(function () {
  var box = document.getElementById("job");
  if (!box || !box.dataset.running) return;
  function poll() {
    fetch(box.dataset.url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (s) {
      if (!s.running) { location.reload(); return; }
      var bar = box.querySelector("progress"), count = box.querySelector(".count");
      if (bar) { bar.max = s.total || 1; bar.value = s.done; }
      if (count) count.textContent = s.done + "/" + s.total;
      setTimeout(poll, 500);
    }).catch(function () { setTimeout(poll, 2000); });
  }
  poll();
})();

// Beside each voice picker: hear the voice chosen before setting it.
document.querySelectorAll("audio.preview").forEach(function (player) {
  var picker = player.parentNode.querySelector("select[name=voice]");
  function point() {
    var parts = picker.value.split("/"), engine = parts.shift();
    if (!engine) return;
    player.src = player.dataset.url + "?engine=" + encodeURIComponent(engine) + "&voice=" + encodeURIComponent(parts.join("/"));
  }
  picker.addEventListener("change", point);
  point();
});
