// The referral form of the case page: the service list offers only the services of the sector
// chosen (every service stays in the page, grouped by sector, for a browser without JavaScript;
// the server checks the pair either way).
(function () {
  "use strict";
  var sector = document.getElementById("referral-sector");
  var service = document.getElementById("referral-service");
  if (!sector || !service) { return; }
  function follow() {
    var chosen = sector.value;
    Array.prototype.forEach.call(service.querySelectorAll("optgroup"), function (group) {
      var shown = !chosen || group.getAttribute("data-sector") === chosen;
      group.hidden = !shown;
      group.disabled = !shown;
    });
    var selected = service.options[service.selectedIndex];
    if (selected && selected.parentNode.disabled) { service.value = ""; }
  }
  sector.addEventListener("change", follow);
  follow();
})();
