// Starts GraphiQL in #graphiql. Ours, not vendored: it lives in a file so that the page's
// Content-Security-Policy needs no inline script. The GraphQL endpoint comes from the root's
// data-endpoint attribute; `?query=...` in the page URL opens the editor with that query, so a
// link can open GraphiQL on a ready-to-run query.
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var endpoint = root.getAttribute("data-endpoint") || "/graphql";
  var linked = new URLSearchParams(window.location.search).get("query");
  var props = {
    fetcher: GraphiQL.createFetcher({ url: endpoint }),
    defaultQuery: "{\n  models(first: 3) {\n    totalCount\n    edges { node { id } }\n  }\n}\n",
  };
  if (linked !== null) {
    props.query = linked;
  }
  ReactDOM.createRoot(root).render(React.createElement(GraphiQL, props));
})();
