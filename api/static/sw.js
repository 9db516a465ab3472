// Himaya's service worker (served at /sw.js, scope /): keeps the outreach pages of the signed-in
// worker for use without a network (api/web/outreach.py lists them: the outreach page, the report
// form, the listening form of each case the worker holds), each in fr, ar and en, with their
// scripts and styles. Pages go to the network first and come from the cache only when it fails;
// nothing else is cached. The list is replaced at each visit of the outreach page (another
// worker signed in keeps only their own); logging out deletes it (Clear-Site-Data, outreach.js).
"use strict";
var CACHE = "himaya-offline-v1";
var LANGUAGE = "/__himaya/language";  // the language the worker last chose, for pages served offline

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "keep") { event.waitUntil(keep(data.list, data.language, event.ports[0])); }
});

// The cache key of a page in one language (a query, not a fragment: the cache ignores fragments).
function keyFor(path, language) { return path + "?offline-language=" + language; }

function keep(list, language, port) {
  return caches.delete(CACHE).then(function () { return caches.open(CACHE); }).then(function (cache) {
    var work = [cache.put(LANGUAGE, new Response(language || "fr"))];
    var kept = {};  // the pages kept, in one language at least
    (list.pages || []).forEach(function (path) {
      (list.languages || ["fr"]).forEach(function (lang) {
        work.push(fetch(path, { credentials: "same-origin", headers: { "X-Himaya-Language": lang, "X-Himaya-Background": "1" }, redirect: "manual" })
          .then(function (response) {
            if (response.status === 200 && response.type === "basic") {
              kept[path] = true;
              return cache.put(keyFor(path, lang), response);
            }
          }).catch(function () { /* kept next time */ }));
      });
    });
    (list.assets || []).forEach(function (path) {
      work.push(fetch(path, { credentials: "same-origin" }).then(function (response) {
        if (response.ok) { return cache.put(path, response); }
      }).catch(function () { /* kept next time */ }));
    });
    return Promise.all(work).then(function () {
      if (port) { port.postMessage({ kept: Object.keys(kept).length }); }
    });
  });
}

function chosenLanguage(cache) {
  return cache.match(LANGUAGE).then(function (found) { return found ? found.text() : "fr"; });
}

function offlinePage(url) {
  return caches.open(CACHE).then(function (cache) {
    return chosenLanguage(cache).then(function (language) {
      return cache.match(keyFor(url.pathname, language)).then(function (found) {
        return found || cache.match(keyFor(url.pathname, "fr"));
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.mode === "navigate") {
    var language = url.pathname.match(/^\/language\/(fr|ar|en)$/);
    event.respondWith(fetch(request).catch(function () {
      if (language) {  // offline: the language of the pages kept, then back to the page
        var next = url.searchParams.get("next") || "/outreach";
        next = next.charAt(0) === "/" && next.charAt(1) !== "/" ? next.split("?")[0] : "/outreach";
        return caches.open(CACHE).then(function (cache) {
          return cache.put(LANGUAGE, new Response(language[1]));
        }).then(function () { return Response.redirect(next, 303); });
      }
      return offlinePage(url).then(function (found) {
        return found || Response.error();
      });
    }));
    return;
  }
  if (url.pathname.indexOf("/assets/") === 0) {
    event.respondWith(caches.open(CACHE).then(function (cache) {
      return cache.match(url.pathname).then(function (found) { return found || fetch(request); });
    }));
  }
});
