// SPDX-License-Identifier: MIT
// The browser's pages.
#include "http/pages.h"

#include "page_html.h"  // generated from page.html (scripts/embed_text.py)

namespace ftx::http {

std::string_view upload_page() { return kUploadPageHtml; }

std::string html_escaped(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string signin_page(std::string_view problem) {
  std::string page =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>ftx: sign in</title>"
      "<style>body{margin:0;font:16px/1.45 system-ui,sans-serif;background:#f6f7fb;color:#1d2330}"
      "main{max-width:420px;margin:0 auto;padding:24px 16px}h1{font-size:1.4rem}"
      "input{width:100%;font:inherit;padding:10px;border:1px solid #d6dbe6;border-radius:8px;margin:6px 0 "
      "12px}"
      "button{font:inherit;font-weight:600;padding:10px "
      "16px;border:0;border-radius:8px;background:#2f6fdb;color:#fff}"
      ".problem{color:#b3261e}</style></head><body><main><h1>ftx</h1>"
      "<p>This server needs its token before it takes files.</p>";
  if (!problem.empty()) page += "<p class=\"problem\">" + html_escaped(problem) + "</p>";
  page +=
      "<form method=\"post\" action=\"/.ftx/signin\"><label for=\"token\">Token</label>"
      "<input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" autofocus>"
      "<button type=\"submit\">Sign in</button></form></main></body></html>\n";
  return page;
}

}  // namespace ftx::http
