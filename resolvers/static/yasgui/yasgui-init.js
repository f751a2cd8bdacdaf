// Starts YASGUI in #yasgui. Ours, not vendored: it lives in a file so that the page's
// Content-Security-Policy needs no inline script. Everything comes from the root's data-
// attributes: the SPARQL endpoint, the query a new tab opens with, and the prefixes the server
// knows (offered when typing PREFIX, and used to shorten IRIs in the results table).
//
// Every tab talks to this server's endpoint: the page's policy lets the browser connect nowhere
// else, so the endpoint field offers no other, and tabs kept from an earlier visit or opened from
// a share link (#query=...) are pointed back at it. Completion stays offline: variables, and our
// prefixes; the LOV class and property completers, which call lov.linkeddata.es, are off.
(function () {
  "use strict";
  var root = document.getElementById("yasgui");
  // YASGUI wants an absolute endpoint URL (it parses it with `new URL`).
  var endpoint = new URL(root.getAttribute("data-endpoint") || "/sparql", window.location.href)
    .href;
  var query = root.getAttribute("data-query") || "";
  var prefixes = JSON.parse(root.getAttribute("data-prefixes") || "{}");

  Yasgui.Yasqe.forkAutocompleter(
    "prefixes",
    {
      name: "modelkgPrefixes",
      get: function () {
        return Object.keys(prefixes)
          .sort()
          .map(function (name) {
            return name + ": <" + prefixes[name] + ">";
          });
      },
    },
    false
  );
  // Set on the defaults, not passed in the config: YASGUI merges arrays index by index.
  Yasgui.defaults.yasqe.autocompleters = ["variables", "modelkgPrefixes"];

  root.textContent = "";
  var yasgui = new Yasgui(root, {
    persistenceId: "modelkg_sparql",
    copyEndpointOnNewTab: false,
    requestConfig: { endpoint: endpoint, method: "POST" },
    endpointCatalogueOptions: {
      getData: function () {
        return [{ endpoint: endpoint }];
      },
    },
    populateFromUrl: function (tab) {
      tab.requestConfig.endpoint = endpoint;
      return tab;
    },
    yasqe: { value: query },
    yasr: { prefixes: prefixes },
  });
  Object.keys(yasgui._tabs).forEach(function (id) {
    yasgui.getTab(id).setEndpoint(endpoint);
  });
})();
