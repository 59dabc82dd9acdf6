/* The route of the scanned driver's visit on the result panel: each stop done or missing,
 * in order, so the guard sees at once why an exit is held and where the truck must go. */
import { $, T } from "./config.js";

const list = $("result-route");

export function show(data) {
  list.textContent = "";
  const route = data && data.visit && data.visit.route;
  if (!route || !route.stops || !route.stops.length) return;
  const title = document.createElement("li");
  title.className = "result-route-title";
  title.textContent = T.route + ": " + route.name;
  list.appendChild(title);
  route.stops.forEach((stop) => {
    const li = document.createElement("li");
    li.className = "result-route-stop " + (stop.done ? "stop-done" : "stop-missing");
    li.textContent = (stop.done ? "✔ " : "✖ ") + stop.name + " · " + (stop.done ? T.routeDone : T.routeMissing);
    list.appendChild(li);
  });
}
