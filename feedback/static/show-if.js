// Progressive enhancement for "show if": without JavaScript every question shows with its note,
// and the server ignores answers to questions whose condition was not met.
(function () {
  "use strict";
  var form = document.querySelector("form");
  var dependants = document.querySelectorAll("[data-show-if-key]");
  if (!form || !dependants.length) return;
  function update() {
    dependants.forEach(function (question) {
      var chosen = form.querySelector('input[name="' + question.dataset.showIfKey + '"]:checked');
      question.hidden = !(chosen && chosen.value === question.dataset.showIfEquals);
    });
  }
  form.addEventListener("change", update);
  update();
})();
