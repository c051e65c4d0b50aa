// SPDX-License-Identifier: MIT
// The pages a browser gets: the upload page (src/http/page.html, built into the binary) and
// the sign-in form of a server with --token. Pure: bytes only.
#pragma once

#include <string>
#include <string_view>

namespace ftx::http {

/// The upload page, served at "/": one HTML file, its style and script inline.
std::string_view upload_page();

/// The sign-in form for a server with a token; it posts "token" to /.ftx/signin. `problem`
/// (escaped here) says why the last attempt failed, if one did.
std::string signin_page(std::string_view problem = {});

/// The page headers: nothing may be loaded from anywhere, even if a name were injected.
inline constexpr std::string_view kPageSecurityPolicy =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// HTML-escapes text (& < > " ').
std::string html_escaped(std::string_view text);

}  // namespace ftx::http
