"""Which URLs the app may call: allow-lists, internal addresses, the form of a destination URL.

Pure rules, no I/O: the outbound policy (``saleor_gordon.outbound``) applies them to every request
and again to every address a host name resolves to; the shop configuration applies them to the
Gordon base URL a shop owner enters, so that a refused URL is never saved.

**Allow-lists** (``SALEOR_GORDON_ALLOWED_SALEOR_URLS``, ``…_ALLOWED_GORDON_URLS``) are regular
expressions, matched against the *parsed* URL, never against its text: each top-level alternative
(``a|b``) is a URL pattern whose part up to the first ``/`` after ``://`` must match the URL's
``scheme://host[:port]`` and whose rest, if any, must match its path. Userinfo, query and fragment
take no part, so ``https://evil.test/x.example.com/graphql/``,
``https://a.example.com@evil.test/graphql/`` or ``…#.example.com`` cannot pass for a host that a
pattern such as ``https://.*\\.example\\.com/graphql/`` admits.

**Internal addresses** (loopback, private, link-local, unique-local, multicast, unspecified,
reserved; IPv4 and IPv6, IPv4-mapped and embedded, ``127.1``, ``2130706433``, ``0x7f.1`` …) are
refused unless an allow-list names the host literally (``http://saleor\\.internal:8000/graphql/``;
a host matched by a wildcard is not named) or the app itself runs on a loopback URL (a local trial,
where loopback destinations are allowed).
"""

from __future__ import annotations

import enum
import functools
import ipaddress
import itertools
import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_CHARS: Final = 2048
DEFAULT_PORTS: Final = {"http": 80, "https": 443}

INTERNAL_ADDRESS: Final = "points to a private or local network address"
"""Why an internal destination is refused: the same words whether the URL names the address or
a host name resolves to it."""

# Why a URL is refused, as a clause after the URL (each one kind: shop_config words it as a code).
URL_TOO_LONG: Final = f"is longer than {MAX_URL_CHARS} characters"
URL_NOT_PLAIN: Final = "must be plain ASCII without spaces, backslashes or control characters"
NOT_HTTP_URL: Final = "is not an absolute http(s) URL"
URL_EXTRA_PARTS: Final = "must not contain a user name, a query (?) or a fragment (#)"
URL_BAD_HOST: Final = "has a host that is not a plain host name or IP address"
NOT_HTTPS: Final = "must start with https://"

_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")
_HOST_CHARS: Final = re.compile(r"[a-z0-9._-]+")
_REGEX_SPECIALS: Final = frozenset(".^$*+?{}[]|()")


class AddressRule(enum.Enum):
    """Which addresses a connection may go to, once the host name is resolved."""

    PUBLIC = "public"
    """Global unicast addresses only."""
    PUBLIC_OR_LOOPBACK = "public or loopback"
    """A local trial: loopback addresses too."""
    ANY = "any"
    """The allow-list names the host literally: the operator vouches for where it points."""

    def permits(self, address: IPAddress) -> bool:
        kind = internal_kind(address)
        if kind is None or self is AddressRule.ANY:
            return True
        return self is AddressRule.PUBLIC_OR_LOOPBACK and kind == "loopback"


@dataclass(frozen=True, slots=True)
class UrlParts:
    """A URL as its parser sees it: what a connection goes to, and what could hide a host."""

    scheme: str
    host: str
    """Lower case; an IPv6 address without brackets."""
    port: int | None
    """None for the scheme's default port."""
    path: str
    has_userinfo: bool = False
    has_query: bool = False
    has_fragment: bool = False

    @classmethod
    def split(cls, url: str) -> UrlParts:
        """Parse ``url`` with the standard library.

        Raises:
            ValueError: not a URL with a host (or a port that is not a number in 0-65535).
        """
        parts = urlsplit(url)
        port = parts.port  # raises on a bad port
        if not parts.hostname:
            raise ValueError("the URL has no host")
        scheme = parts.scheme.lower()
        return cls(
            scheme=scheme,
            host=parts.hostname.lower(),
            port=None if port == DEFAULT_PORTS.get(scheme) else port,
            path=parts.path,
            has_userinfo="@" in parts.netloc,
            has_query="?" in url,
            has_fragment="#" in url,
        )

    @property
    def origin(self) -> str:
        """``scheme://host[:port]``, the default port left out, an IPv6 host in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}" + ("" if self.port is None else f":{self.port}")

    @property
    def server(self) -> str:
        """The server this URL calls, written one way however the URL spells it: ``origin`` with
        the scheme's default port left out, a host name's trailing dot dropped and an IP address
        in its standard form (``2130706433``, ``127.1`` and ``[::ffff:127.0.0.1]`` are
        ``127.0.0.1``; IPv6 compressed). ``HTTPS://Shop.example.com.:443/x`` and
        ``https://shop.example.com/y`` are one server: what is counted or shared per server (the
        outbound connection slots, slow servers, registration attempts per claimed Saleor) is
        keyed by it, so spelling one server many ways gains nothing."""
        address = literal_address(self.host)
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        host = self.host.removesuffix(".") if address is None else str(address)
        port = None if self.port == DEFAULT_PORTS.get(self.scheme) else self.port
        return UrlParts(self.scheme, host, port, "").origin

    @property
    def shown(self) -> str:
        """The URL without userinfo, query and fragment: what messages may show."""
        return self.origin + self.path


# --- allow-lists ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UrlPattern:
    """One alternative of an allow-list."""

    text: str
    origin: re.Pattern[str]
    path: re.Pattern[str] | None
    """None: any path."""
    literal_host: str | None
    """The host, when the pattern names one host literally (no wildcard in it)."""

    def matches(self, url: UrlParts) -> bool:
        if self.origin.fullmatch(url.origin) is None:
            return False
        return self.path is None or self.path.fullmatch(url.path or "/") is not None

    def names(self, url: UrlParts) -> bool:
        """True if this pattern matches ``url`` and names its host literally."""
        return self.literal_host == url.host and self.matches(url)


@dataclass(frozen=True, slots=True)
class AllowList:
    """An allow-list setting, parsed once."""

    text: str
    patterns: tuple[UrlPattern, ...]

    def matches(self, url: UrlParts) -> bool:
        return any(pattern.matches(url) for pattern in self.patterns)

    def names(self, url: UrlParts) -> bool:
        return any(pattern.names(url) for pattern in self.patterns)


@functools.lru_cache(maxsize=64)
def parse_allow_list(text: str) -> AllowList:
    """Parse an allow-list setting.

    Raises:
        ValueError: with what to write instead (the setting's validator shows it).
    """
    alternatives = _split_top_level(_unescape_slashes(text), "|")
    patterns = tuple(_url_pattern(alternative) for alternative in alternatives)
    return AllowList(text, patterns)


def _url_pattern(text: str) -> UrlPattern:
    scheme_end = _find_top_level(text, "://")
    if scheme_end is None:
        raise ValueError(
            f"{text!r} is not a URL pattern; write each alternative as a whole URL, e.g. "
            r"https://[a-z0-9-]+\.saleor\.cloud/graphql/"
        )
    path_start = _find_top_level(text, "/", start=scheme_end + 3)
    nested_slash = next(
        (i for i, depth in _scan(text, scheme_end + 3) if text[i] == "/" and depth > 0), None
    )
    if nested_slash is not None and (path_start is None or nested_slash < path_start):
        raise ValueError(
            f"{text!r} mixes host and path in one group; write alternatives as whole URLs "
            r"separated by |, e.g. https://a\.example\.com/graphql/|https://b\.example\.com/x/"
        )
    origin_text = text if path_start is None else text[:path_start]
    path_text = None if path_start is None else text[path_start:]
    try:
        origin = re.compile(origin_text, re.IGNORECASE)
        path = None if path_text is None else re.compile(path_text)
    except re.error as exc:
        raise ValueError(f"is not a valid regular expression: {exc}") from exc
    return UrlPattern(text, origin, path, _literal_host(origin_text[scheme_end + 3 :]))


def _unescape_slashes(text: str) -> str:
    """``\\/`` is ``/`` in a Python regular expression; written plainly, it can be found."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            following = text[index + 1]
            out.append("/" if following == "/" else char + following)
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def _scan(text: str, start: int = 0) -> list[tuple[int, int]]:
    """(index, group depth) of every character outside escapes and character classes.

    Characters inside a class (``[^/]``) are left out: a class matches one character of the part
    it stands in, and never splits a pattern.
    """
    found: list[tuple[int, int]] = []
    depth, index, in_class = 0, start, False
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if text[index + 1 : index + 2] == "^":
                index += 1
            if text[index + 1 : index + 2] == "]":  # "[]…]": the bracket is a member
                index += 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        else:
            found.append((index, depth))
        index += 1
    return found


def _split_top_level(text: str, separator: str) -> list[str]:
    cuts = [index for index, depth in _scan(text) if depth == 0 and text[index] == separator]
    bounds = [-1, *cuts, len(text)]
    return [text[a + 1 : b] for a, b in itertools.pairwise(bounds)]


def _find_top_level(text: str, needle: str, start: int = 0) -> int | None:
    for index, depth in _scan(text, start):
        if depth == 0 and text.startswith(needle, index):
            return index
    return None


def _literal_host(authority: str) -> str | None:
    """The host an origin pattern's authority names literally, or None if it has a wildcard."""
    if authority.startswith("\\["):
        end = authority.find("\\]")
        literal = _literal_text(authority[2:end]) if end != -1 else None
        return literal.lower() if literal else None
    port = next((i for i, _ in _scan(authority) if authority[i] == ":"), None)
    literal = _literal_text(authority if port is None else authority[:port])
    return literal.lower() if literal else None


def _literal_text(pattern: str) -> str | None:
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            following = pattern[index + 1 : index + 2]
            if not following or following.isalnum():  # \d, \w, \b …: not one character
                return None
            out.append(following)
            index += 2
            continue
        if char in _REGEX_SPECIALS:
            return None
        out.append(char)
        index += 1
    return "".join(out)


# --- addresses --------------------------------------------------------------------------------


def internal_kind(address: IPAddress) -> str | None:
    """What kind of internal address ``address`` is ("loopback", "private", …), or None if global.

    IPv6 forms that carry an IPv4 address (IPv4-mapped, NAT64, 6to4, Teredo) are judged by it.
    """
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return internal_kind(embedded)
    for kind, flag in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ):
        if flag:
            return kind
    return None if address.is_global else "reserved"


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def literal_address(host: str) -> IPAddress | None:
    """The address ``host`` spells, in any form a resolver accepts, or None for a host name.

    IPv4 in inet_aton's forms too: ``127.1``, ``2130706433``, ``0x7f.0.0.1``, ``0177.0.0.1``,
    with or without a trailing dot.
    """
    text = host.strip("[]").lower()
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    return _loose_ipv4(text.removesuffix("."))


def _loose_ipv4(text: str) -> ipaddress.IPv4Address | None:
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_inet_aton_number(part) for part in parts]
    if any(number is None for number in numbers):
        return None
    values = [number for number in numbers if number is not None]
    *leading, last = values
    if any(value > 0xFF for value in leading) or last >= 1 << (8 * (4 - len(leading))):
        return None
    value = last
    for position, byte in enumerate(leading):
        value |= byte << (8 * (3 - position))
    return ipaddress.IPv4Address(value)


def _inet_aton_number(part: str) -> int | None:
    digits = part[2:] if part.startswith("0x") else part
    if not digits or not digits.isascii() or not digits.isalnum():
        return None
    try:
        if part.startswith("0x"):
            return int(digits, 16)
        return int(digits, 8) if len(digits) > 1 and digits.startswith("0") else int(digits, 10)
    except ValueError:
        return None


def is_loopback_name(host: str) -> bool:
    """``localhost`` and the names below it (RFC 6761), which every resolver keeps on loopback."""
    name = host.lower().removesuffix(".")
    return name == "localhost" or name.endswith(".localhost")


def host_internal_kind(host: str) -> str | None:
    """What the host itself says about where it points: "loopback" for localhost, the kind of a
    literal address, None for any other name (only resolving it tells)."""
    if is_loopback_name(host):
        return "loopback"
    address = literal_address(host)
    return None if address is None else internal_kind(address)


# --- destinations -----------------------------------------------------------------------------


def not_allowed_by(setting: str) -> str:
    """Why a URL that the allow-list in ``setting`` does not match is refused."""
    return f"is not among the URLs that {setting} allows"


class DestinationRefused(ValueError):
    """A destination the rules refuse; ``reason`` is a clause after the URL, for a person."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class DestinationRules:
    """The rules for one kind of destination (Saleor or Gordon)."""

    allow_list: AllowList | None
    local_trial: bool
    """The app runs on a loopback URL: loopback destinations are allowed."""
    setting: str
    """The allow-list's environment variable, for messages."""
    require_https: bool = False

    def judge(self, url: UrlParts) -> AddressRule:
        """The addresses a connection to ``url`` may use.

        Raises:
            DestinationRefused: the URL may not be called at all.
        """
        if url.scheme not in DEFAULT_PORTS:
            raise DestinationRefused(NOT_HTTP_URL)
        if url.has_userinfo or url.has_query or url.has_fragment:
            raise DestinationRefused(URL_EXTRA_PARTS)
        if self.allow_list is not None and not self.allow_list.matches(url):
            raise DestinationRefused(not_allowed_by(self.setting))
        named = self.allow_list is not None and self.allow_list.names(url)
        host_kind = host_internal_kind(url.host)
        local = self.local_trial and host_kind == "loopback"
        if host_kind is not None and not (named or local):
            raise DestinationRefused(INTERNAL_ADDRESS)
        # An allow-list that matched may name http URLs; without one only https goes out.
        if self.require_https and url.scheme != "https" and not (self.allow_list or local):
            raise DestinationRefused(NOT_HTTPS)
        if named:
            return AddressRule.ANY
        return AddressRule.PUBLIC_OR_LOOPBACK if self.local_trial else AddressRule.PUBLIC


def url_form_problem(value: str) -> str | None:
    """Why ``value`` cannot be a destination URL whatever the rules, or None.

    Plain ASCII only (a host name with an internationalised domain is written in its xn-- form),
    so that every URL parser reads the same host from it.
    """
    if len(value) > MAX_URL_CHARS:
        return URL_TOO_LONG
    if not value.isascii() or not value.isprintable() or " " in value or "\\" in value:
        return URL_NOT_PLAIN
    try:
        url = UrlParts.split(value)
    except ValueError:
        return NOT_HTTP_URL
    if url.scheme not in DEFAULT_PORTS:
        return NOT_HTTP_URL
    if url.has_userinfo or url.has_query or url.has_fragment:
        return URL_EXTRA_PARTS
    if not (_HOST_CHARS.fullmatch(url.host) or literal_address(url.host) is not None):
        return URL_BAD_HOST
    if urlsplit(value).netloc.lower() not in _authorities(url):  # text the parser skipped
        return URL_BAD_HOST
    return None


def _authorities(url: UrlParts) -> set[str]:
    """How the authority of ``url`` may be written: host, then the port or none (or the default)."""
    host = f"[{url.host}]" if ":" in url.host else url.host
    if url.port is not None:
        return {f"{host}:{url.port}"}
    return {host, f"{host}:", f"{host}:{DEFAULT_PORTS[url.scheme]}"}


def gordon_base_url_problem(value: str, rules: DestinationRules | None) -> str | None:
    """Why ``value`` cannot be a shop's Gordon base URL, or None.

    ``rules`` None checks the form only (a stored configuration is read that way; the outbound
    policy still judges every call).
    """
    problem = url_form_problem(value)
    if problem is not None or rules is None:
        return problem
    try:
        rules.judge(UrlParts.split(value))
    except DestinationRefused as refused:
        return refused.reason
    return None
