// cellpath — what htmx does not do: upload checks before sending and a progress bar, a
// highlighted drop zone, and copying a link. Everything works without this file.
(function () {
  "use strict";
  var documents = /\.(pdf|png|jpe?g|zip)$/i;

  function setupUpload(form) {
    var accept = form.getAttribute("data-accept");
    var allowed = accept ? new RegExp(accept, "i") : documents;
    var input = form.querySelector("input[type=file]");
    var list = form.querySelector(".chosen");
    var bar = form.querySelector("progress");
    var status = form.querySelector(".status");
    var max = Number(form.getAttribute("data-max-bytes")) || Infinity;
    var drop = form.querySelector(".drop");
    function problems() {
      var out = [];
      Array.prototype.forEach.call(input.files || [], function (f) {
        if (!allowed.test(f.name)) out.push(f.name + ": " + form.getAttribute("data-msg-type"));
        else if (f.size > max) out.push(f.name + ": " + form.getAttribute("data-msg-size"));
      });
      return out;
    }
    function show() {
      list.textContent = "";
      Array.prototype.forEach.call(input.files || [], function (f) {
        var li = document.createElement("li");
        li.textContent = f.name + " (" + (f.size / 1e6).toFixed(1) + " MB)";
        list.appendChild(li);
      });
      var bad = problems();
      status.textContent = bad.join(" · ");
      input.setAttribute("aria-invalid", bad.length ? "true" : "false");
    }
    input.addEventListener("change", show);
    ["dragenter", "dragover"].forEach(function (e) {
      drop.addEventListener(e, function () { drop.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (e) {
      drop.addEventListener(e, function () { drop.classList.remove("over"); });
    });
    form.addEventListener("submit", function (ev) {
      var bad = problems();
      if (bad.length) { ev.preventDefault(); status.textContent = bad.join(" · "); input.focus(); return; }
      if (!window.XMLHttpRequest || !window.FormData) return;
      ev.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      bar.hidden = false;
      status.textContent = form.getAttribute("data-msg-progress");
      xhr.upload.addEventListener("progress", function (p) {
        if (p.lengthComputable) bar.value = Math.round(100 * p.loaded / p.total);
      });
      xhr.addEventListener("load", function () {
        // The server answers with the page to show: a redirect was followed, or the form
        // came back with its errors.
        document.open(); document.write(xhr.responseText); document.close();
        if (xhr.responseURL) history.replaceState(null, "", xhr.responseURL);
        // The new page starts at its top, or at what stops it (a banner, the errors), focused.
        var stop = document.querySelector("#identity, #form-errors");
        if (stop) { stop.setAttribute("tabindex", "-1"); stop.focus(); } else window.scrollTo(0, 0);
      });
      xhr.addEventListener("error", function () { form.submit(); });
      xhr.send(new FormData(form));
    });
  }

  function setupCopy(button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.getAttribute("data-copy"));
      if (!input) return;
      input.select();
      var done = function () { button.textContent = button.getAttribute("data-done"); };
      if (navigator.clipboard) navigator.clipboard.writeText(input.value).then(done, function () {});
      else { document.execCommand("copy"); done(); }
    });
  }

  function init(root) {
    Array.prototype.forEach.call(root.querySelectorAll("form.upload"), setupUpload);
    Array.prototype.forEach.call(root.querySelectorAll(".copy-button"), setupCopy);
  }
  if (document.readyState !== "loading") init(document);
  else document.addEventListener("DOMContentLoaded", function () { init(document); });
})();
