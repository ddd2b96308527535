(function () {
  const form = document.getElementById("endpoint-form");
  const all = document.getElementById("select-all-events");
  const boxes = () => [...form.querySelectorAll('input[name="events"]')];
  const sync = () => { all.checked = boxes().every((b) => b.checked); };
  all.addEventListener("change", () => boxes().forEach((b) => { b.checked = all.checked; }));
  form.addEventListener("change", (e) => { if (e.target.name === "events") sync(); });
  sync();
  document.getElementById("generate-secret").addEventListener("click", () => {
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    form.querySelector('[name="secret"]').value = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  });
})();
