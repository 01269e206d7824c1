/* Behaviour every back-office and portal page shares, without inline scripts (the
 * Content-Security-Policy allows scripts from files only):
 *   <form data-confirm="Question?">  asks before submitting;
 *   <button data-action="print">     prints the page.
 */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-action='print']");
    if (button) {
      window.print();
    }
  });
})();
