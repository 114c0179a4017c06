// Show every <time datetime> in the viewer's own zone; the UTC instant stays in its title.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var fmt = new Intl.DateTimeFormat(undefined, {dateStyle: "medium", timeStyle: "medium"});
  document.querySelectorAll("time[datetime]").forEach(function (t) {
    var d = new Date(t.getAttribute("datetime"));
    if (!isNaN(d)) { t.textContent = fmt.format(d); }
  });
  var live = document.querySelector("[data-refresh]");
  if (live) { setTimeout(function () { location.reload(); }, 1000 * Number(live.getAttribute("data-refresh"))); }
});
