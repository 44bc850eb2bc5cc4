// Sizes each email preview to the email it shows, so that the page scrolls once instead of a frame inside it.
// The frame may be measured because it is same-origin; it stays script-free (its sandbox allows no scripts).
(function () {
  function fit(frame) {
    var doc = frame.contentDocument;
    if (!doc || !doc.documentElement) return;
    frame.style.height = "0px"; // measured at no height, a short email is not stretched to the frame's old size
    frame.style.height = doc.documentElement.scrollHeight + "px";
  }
  document.querySelectorAll("iframe[data-fit-content]").forEach(function (frame) {
    frame.addEventListener("load", function () { fit(frame); });
    window.addEventListener("resize", function () { fit(frame); });
    if (frame.contentDocument && frame.contentDocument.readyState === "complete") fit(frame);
  });
})();
