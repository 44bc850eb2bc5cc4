// Progressive enhancement for "show if": without JavaScript every question shows with its note,
// and the server ignores answers to questions whose condition was not met.
(function () {
  "use strict";
  document.querySelectorAll("[data-show-if-key]").forEach(function (question) {
    var form = question.closest("form");
    if (!form) return;
    function update() {
      var chosen = form.querySelector('input[name="' + question.dataset.showIfKey + '"]:checked');
      question.hidden = !(chosen && chosen.value === question.dataset.showIfEquals);
    }
    form.addEventListener("change", update);
    update();
  });
})();
