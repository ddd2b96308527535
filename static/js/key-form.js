// Show the restriction lists only for families a chosen scope covers.
(function () {
  const form = document.getElementById("key-form");
  function update() {
    const families = new Set([...form.querySelectorAll('input[name="scopes"]:checked')].map((b) => b.dataset.family).filter(Boolean));
    form.querySelectorAll("[data-restrict-family]").forEach((el) => {
      const hasTicks = el.querySelector("input:checked");
      el.hidden = !families.has(el.dataset.restrictFamily) && !hasTicks;
    });
  }
  form.addEventListener("change", update);
  update();
})();
