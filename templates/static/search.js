/* ANNAobserva: the archive's search box.
 *
 * The box is in every page's HTML, hidden; this script shows it, so without JavaScript there is
 * no box that cannot work. It searches the reader's language only, with the Pagefind bundle the
 * build wrote for that language (pagefind/<lang>/), and lists each edition found with its title,
 * date and excerpt, linked to the edition. It is a file of the site, not an inline script, and it
 * evaluates no code: a Content-Security-Policy needs only same-origin scripts plus
 * 'wasm-unsafe-eval' for Pagefind's WebAssembly. Pagefind's excerpts are HTML with <mark> around
 * the matches; only their text and the <mark> elements are kept.
 */
(function () {
  "use strict";
  var form = document.querySelector("form.search");
  var panel = document.querySelector(".search-results");
  if (!form || !panel || !window.WebAssembly || !window.DOMParser) {
    return;
  }
  var input = form.querySelector("input[type=search]");
  var words = form.dataset;
  var engine = null;
  var asked = 0;
  var timer = null;
  var SHOWN = 20;

  function load() {
    if (engine === null) {
      engine = import(words.bundle + "pagefind.js").then(function (pagefind) {
        return Promise.resolve(pagefind.options({ baseUrl: words.base })).then(function () {
          return pagefind;
        });
      });
    }
    return engine;
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : whole;
    });
  }

  function element(name, className, text) {
    var node = document.createElement(name);
    if (className) {
      node.className = className;
    }
    if (text) {
      node.textContent = text;
    }
    return node;
  }

  function excerpt(html) {
    var paragraph = element("p", "search-excerpt");
    var parsed = new DOMParser().parseFromString(html, "text/html");
    (function copy(from, to) {
      from.childNodes.forEach(function (node) {
        if (node.nodeType === Node.TEXT_NODE) {
          to.appendChild(document.createTextNode(node.textContent));
        } else if (node.nodeType === Node.ELEMENT_NODE) {
          copy(node, node.nodeName === "MARK" ? to.appendChild(element("mark")) : to);
        }
      });
    })(parsed.body, paragraph);
    return paragraph;
  }

  function show(query, found, entries) {
    panel.replaceChildren();
    var count = found === 1 ? words.one : fill(words.other, { count: found });
    panel.appendChild(element("p", "search-count",
      found === 0 ? fill(words.none, { query: query }) : count));
    if (entries.length) {
      var list = element("ol", "search-list");
      entries.forEach(function (entry) {
        var item = element("li");
        var link = element("a", "", entry.meta.title || entry.url);
        link.href = entry.url;
        item.appendChild(link);
        if (entry.meta.date) {
          item.appendChild(element("p", "search-date", entry.meta.date));
        }
        item.appendChild(excerpt(entry.excerpt || ""));
        list.appendChild(item);
      });
      panel.appendChild(list);
    }
    panel.hidden = false;
  }

  function search() {
    var query = input.value.trim();
    var mine = ++asked;
    if (!query) {
      panel.hidden = true;
      panel.replaceChildren();
      return;
    }
    load()
      .then(function (pagefind) { return pagefind.search(query); })
      .then(function (answer) {
        var shown = answer.results.slice(0, SHOWN);
        return Promise.all(shown.map(function (r) { return r.data(); })).then(function (data) {
          if (mine === asked) {
            show(query, answer.results.length, data);
          }
        });
      })
      .catch(function () {
        if (mine === asked) {
          panel.replaceChildren(element("p", "search-count", words.error));
          panel.hidden = false;
        }
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    window.clearTimeout(timer);
    search();
  });
  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(search, 250);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      input.value = "";
      search();
    }
  });
  input.addEventListener("focus", function () { load().catch(function () {}); }, { once: true });
  form.hidden = false;
})();
