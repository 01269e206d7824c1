/* The contract form: the chosen package's price as the amount's placeholder (empty means "the
 * package price"). Prices come from the json_script block "package-prices". */
(function () {
  "use strict";
  var source = document.getElementById("package-prices");
  var pkg = document.getElementById("id_package");
  var amount = document.getElementById("id_amount");
  if (!source || !pkg || !amount) {
    return;
  }
  var prices = JSON.parse(source.textContent);
  function show() { amount.placeholder = prices[pkg.value] || ""; }
  pkg.addEventListener("change", show);
  show();
})();
