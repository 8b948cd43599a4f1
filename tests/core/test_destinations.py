"""The pure rules of where the app may call: allow-lists, internal addresses, URL form."""

from __future__ import annotations

import ipaddress
import re

import pytest

from saleor_gordon.core.destinations import (
    INTERNAL_ADDRESS,
    AddressRule,
    DestinationRefused,
    DestinationRules,
    UrlParts,
    gordon_base_url_problem,
    host_internal_kind,
    literal_address,
    parse_allow_list,
    url_form_problem,
)

WILDCARD = r"https://.*\.example\.com/graphql/"


def rules(
    allow_list: str | None = None, *, local_trial: bool = False, https: bool = False
) -> DestinationRules:
    return DestinationRules(
        allow_list=None if allow_list is None else parse_allow_list(allow_list),
        local_trial=local_trial,
        setting="SALEOR_GORDON_ALLOWED_X_URLS",
        require_https=https,
    )


def refusal(rules: DestinationRules, url: str) -> str | None:
    try:
        rules.judge(UrlParts.split(url))
    except DestinationRefused as refused:
        return refused.reason
    return None


# --- allow-lists ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.test/x.example.com/graphql/",  # the host hidden in the path
        "https://evil.test/graphql/#.example.com/graphql/",  # in the fragment
        "https://a.example.com@evil.test/graphql/",  # in the userinfo
        "https://evil.test/graphql/?.example.com/graphql/",  # in the query
        "https://evil.test:443/x.example.com/graphql/",
        "https://a.example.com:8443/graphql/",  # another port: another destination
        "http://a.example.com/graphql/",  # another scheme
        "https://a.example.com/graphql/x",  # another path
    ],
)
def test_a_wildcard_host_admits_no_host_but_its_own(url: str) -> None:
    assert not parse_allow_list(WILDCARD).matches(UrlParts.split(url))


@pytest.mark.parametrize(
    "url",
    [
        "https://a.example.com/graphql/",
        "https://shop-1.eu.example.com/graphql/",
        "https://A.Example.COM/graphql/",
        "https://a.example.com:443/graphql/",  # the default port is no port
    ],
)
def test_a_wildcard_host_admits_its_hosts(url: str) -> None:
    assert parse_allow_list(WILDCARD).matches(UrlParts.split(url))


def test_alternatives_groups_classes_and_escaped_slashes() -> None:
    allow = parse_allow_list(
        r"https://(shop-a|shop-b)\.example\.com/graphql/|http:\/\/[^/]+:8000/(graphql|api)/"
    )

    assert [(p.origin.pattern, p.path and p.path.pattern) for p in allow.patterns] == [
        (r"https://(shop-a|shop-b)\.example\.com", "/graphql/"),
        (r"http://[^/]+:8000", "/(graphql|api)/"),
    ]
    assert allow.matches(UrlParts.split("https://shop-b.example.com/graphql/"))
    assert allow.matches(UrlParts.split("http://saleor.internal:8000/api/"))
    assert not allow.matches(UrlParts.split("https://shop-c.example.com/graphql/"))
    assert not allow.matches(UrlParts.split("http://saleor.internal:8001/api/"))


def test_a_pattern_without_a_path_admits_any_path() -> None:
    allow = parse_allow_list(r"https://backend\.gordondelivery\.com")

    assert allow.matches(UrlParts.split("https://backend.gordondelivery.com"))
    assert allow.matches(UrlParts.split("https://backend.gordondelivery.com/api/orders/1"))
    assert not allow.matches(UrlParts.split("https://backend.gordondelivery.com.evil.test"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            r"[a-z]+\.saleor\.cloud",
            r"'[a-z]+\\.saleor\\.cloud' is not a URL pattern; write each alternative as a whole "
            r"URL, e.g. https://[a-z0-9-]+\.saleor\.cloud/graphql/",
        ),
        (
            r"https://(a\.com/x|b\.com/y)",
            r"'https://(a\\.com/x|b\\.com/y)' mixes host and path in one group; write "
            r"alternatives as whole URLs separated by |, e.g. "
            r"https://a\.example\.com/graphql/|https://b\.example\.com/x/",
        ),
        (
            "https://(unclosed",
            "is not a valid regular expression: missing ), unterminated subpattern at position 8",
        ),
    ],
)
def test_an_allow_list_that_cannot_be_read_says_what_to_write(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_allow_list(text)


@pytest.mark.parametrize(
    ("text", "host"),
    [
        (r"http://saleor\.internal:8000/graphql/", "saleor.internal"),
        (r"http://127\.0\.0\.1:\d+/graphql/", "127.0.0.1"),
        (r"http://\[::1\]:\d+", "::1"),
        (r"https://[a-z]+\.saleor\.cloud/graphql/", None),
        (r"https://(a|b)\.internal/graphql/", None),
        (r"https://.*/graphql/", None),
        (r"https://saleor\w\.internal/graphql/", None),
    ],
)
def test_a_host_is_named_only_when_written_without_wildcards(text: str, host: str | None) -> None:
    assert parse_allow_list(text).patterns[0].literal_host == host


# --- addresses --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "address", "kind"),
    [
        ("127.0.0.1", "127.0.0.1", "loopback"),
        ("127.1", "127.0.0.1", "loopback"),
        ("2130706433", "127.0.0.1", "loopback"),
        ("0x7f.1", "127.0.0.1", "loopback"),
        ("0177.0.0.1", "127.0.0.1", "loopback"),
        ("017700000001", "127.0.0.1", "loopback"),
        ("127.0.0.1.", "127.0.0.1", "loopback"),
        ("0", "0.0.0.0", "unspecified"),  # noqa: S104 - the address under test
        ("0.0.0.0", "0.0.0.0", "unspecified"),  # noqa: S104
        ("[::1]", "::1", "loopback"),
        ("::", "::", "unspecified"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1", "loopback"),
        ("::ffff:10.0.0.1", "::ffff:a00:1", "private"),
        ("64:ff9b::7f00:1", "64:ff9b::7f00:1", "loopback"),  # NAT64
        ("2002:7f00:1::", "2002:7f00:1::", "loopback"),  # 6to4
        ("10.1.2.3", "10.1.2.3", "private"),
        ("172.16.0.1", "172.16.0.1", "private"),
        ("192.168.1.1", "192.168.1.1", "private"),
        ("169.254.169.254", "169.254.169.254", "link-local"),
        ("fe80::1", "fe80::1", "link-local"),
        ("fd00::1", "fd00::1", "private"),  # unique local
        ("224.0.0.1", "224.0.0.1", "multicast"),
        ("ff02::1", "ff02::1", "multicast"),
        ("100.64.0.1", "100.64.0.1", "reserved"),  # shared address space (carrier NAT)
        ("240.0.0.1", "240.0.0.1", "private"),
        ("93.184.216.34", "93.184.216.34", None),
        ("2606:4700::1111", "2606:4700::1111", None),
    ],
)
def test_every_spelling_of_an_address_is_read_and_judged(
    host: str, address: str, kind: str | None
) -> None:
    assert literal_address(host) == ipaddress.ip_address(address)
    assert host_internal_kind(host) == kind


@pytest.mark.parametrize("host", ["example.com", "1.2.3.4.5", "0x", "08.1", "256.256", "xn--e1a"])
def test_a_host_name_is_no_address(host: str) -> None:
    assert literal_address(host) is None
    assert host_internal_kind(host) is None


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST.", "app.localhost"])
def test_localhost_names_are_loopback(host: str) -> None:
    assert host_internal_kind(host) == "loopback"


def test_address_rules() -> None:
    public, loopback, private = (
        ipaddress.ip_address(text) for text in ("93.184.216.34", "127.0.0.1", "10.0.0.1")
    )
    assert [AddressRule.PUBLIC.permits(a) for a in (public, loopback, private)] == [
        True,
        False,
        False,
    ]
    assert [AddressRule.PUBLIC_OR_LOOPBACK.permits(a) for a in (public, loopback, private)] == [
        True,
        True,
        False,
    ]
    assert [AddressRule.ANY.permits(a) for a in (public, loopback, private)] == [True, True, True]


# --- destinations -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/graphql/",
        "http://localhost:9000/graphql/",
        "http://127.1:9000/graphql/",
        "http://2130706433:9000/graphql/",
        "http://0.0.0.0:9000/graphql/",
        "http://[::1]:9000/graphql/",
        "http://[::ffff:127.0.0.1]:9000/graphql/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/graphql/",
    ],
)
def test_an_internal_destination_is_refused_on_a_public_app(url: str) -> None:
    assert refusal(rules(), url) == INTERNAL_ADDRESS
    # a wildcard that matches it does not name it
    assert refusal(rules(r"http://[^/]+/.*"), url) == INTERNAL_ADDRESS


def test_a_local_trial_may_call_loopback_only() -> None:
    trial = rules(local_trial=True)

    assert refusal(trial, "http://127.0.0.1:8000/graphql/") is None
    assert refusal(trial, "http://localhost:8000/graphql/") is None
    assert refusal(trial, "http://[::1]:8000/graphql/") is None
    assert refusal(trial, "http://10.0.0.5/graphql/") == INTERNAL_ADDRESS
    assert trial.judge(UrlParts.split("https://shop.example.com/graphql/")) is (
        AddressRule.PUBLIC_OR_LOOPBACK
    )


def test_an_allow_list_that_names_a_host_lets_it_be_internal() -> None:
    named = rules(r"http://saleor\.internal:8000/graphql/|http://10\.0\.0\.5/graphql/")

    assert named.judge(UrlParts.split("http://saleor.internal:8000/graphql/")) is AddressRule.ANY
    assert named.judge(UrlParts.split("http://10.0.0.5/graphql/")) is AddressRule.ANY
    assert refusal(named, "http://10.0.0.6/graphql/") == (
        "is not among the URLs that SALEOR_GORDON_ALLOWED_X_URLS allows"
    )


def test_a_public_destination_connects_to_public_addresses_only() -> None:
    assert rules().judge(UrlParts.split("https://shop.example.com/graphql/")) is AddressRule.PUBLIC


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://user:pw@shop.example.com/graphql/", "must not contain a user name, a query (?) "
         "or a fragment (#)"),
        ("https://shop.example.com/graphql/?x=1", "must not contain a user name, a query (?) or "
         "a fragment (#)"),
        ("https://shop.example.com/graphql/#", "must not contain a user name, a query (?) or a "
         "fragment (#)"),
        ("ftp://shop.example.com/graphql/", "is not an absolute http(s) URL"),
    ],
)  # fmt: skip
def test_what_no_destination_may_contain(url: str, reason: str) -> None:
    assert refusal(rules(), url) == reason


def test_gordon_needs_https_unless_allowed_or_a_local_trial() -> None:
    gordon = rules(https=True)

    assert refusal(gordon, "http://backend.gordondelivery.com") == "must start with https://"
    assert refusal(gordon, "https://backend.gordondelivery.com") is None
    assert refusal(rules(https=True, local_trial=True), "http://127.0.0.1:8080") is None
    assert refusal(rules(https=True, local_trial=True), "http://gordon.example.com") == (
        "must start with https://"
    )
    assert refusal(rules(r"http://gordon-sandbox\.internal:8080", https=True), (
        "http://gordon-sandbox.internal:8080"
    )) is None  # fmt: skip


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("https://backend.gordondelivery.com", None),
        ("https://backend.gordondelivery.com/", None),
        ("https://93.184.216.34:8443", None),
        ("http://127.0.0.1:9/admin/reset?x=1#", "must not contain a user name, a query (?) or a "
         "fragment (#)"),
        ("https://gordon.example.com@127.0.0.1", "must not contain a user name, a query (?) or a "
         "fragment (#)"),
        ("https://backend.gordondelivery.com#", "must not contain a user name, a query (?) or a "
         "fragment (#)"),
        ("https://backend.gordondelivery.com?", "must not contain a user name, a query (?) or a "
         "fragment (#)"),
        ("https://bäckend.example.com", "must be plain ASCII without spaces, backslashes or "
         "control characters"),
        ("https://back\\end.example.com", "must be plain ASCII without spaces, backslashes or "
         "control characters"),
        ("https://back%65nd.example.com", "has a host that is not a plain host name or IP address"),
        # urlsplit reads [fe80::1] as the host and skips what comes before: refused
        ("https://x.example%40[fe80::1]:8000/", "has a host that is not a plain host name or IP "
         "address"),
        ("https://x.example[::1]/", "has a host that is not a plain host name or IP address"),
        ("https://[::1]x/", "has a host that is not a plain host name or IP address"),
        ("https://gordon.example.com:443/api", None),
        ("https://[2606:4700::1111]:8443", None),
        ("backend.gordondelivery.com", "is not an absolute http(s) URL"),
        ("https://" + "a" * 2048, "is longer than 2048 characters"),
    ],
)  # fmt: skip
def test_the_form_of_a_destination_url(value: str, problem: str | None) -> None:
    assert url_form_problem(value) == problem


@pytest.mark.parametrize(
    "value",
    [
        "http://127.0.0.1:9",
        "https://127.1:9",
        "https://2130706433",
        "https://[::1]:9",
        "https://localhost:9",
        "https://0.0.0.0",
        "https://[::ffff:127.0.0.1]",
    ],
)
def test_a_gordon_base_url_on_an_internal_address(value: str) -> None:
    public = rules(https=True)
    assert gordon_base_url_problem(value, public) == INTERNAL_ADDRESS
    assert gordon_base_url_problem(value, None) is None  # the form alone is fine


@pytest.mark.parametrize(
    ("url", "server"),
    [
        ("https://shop.example.com/graphql/", "https://shop.example.com"),
        ("https://SHOP.Example.COM/graphql/", "https://shop.example.com"),
        ("HTTPS://shop.example.com/graphql/", "https://shop.example.com"),
        ("https://shop.example.com:443/graphql/", "https://shop.example.com"),
        ("https://shop.example.com:/graphql/", "https://shop.example.com"),
        ("https://shop.example.com./graphql/", "https://shop.example.com"),
        ("https://shop.example.com/graphql", "https://shop.example.com"),
        ("https://shop.example.com/x/../GRAPHQL//", "https://shop.example.com"),
        ("https://XN--SHP-SNA.example.com/graphql/", "https://xn--shp-sna.example.com"),
        # another port or scheme is another server
        ("https://shop.example.com:8443/graphql/", "https://shop.example.com:8443"),
        ("http://shop.example.com/graphql/", "http://shop.example.com"),
        ("http://shop.example.com:443/graphql/", "http://shop.example.com:443"),
        ("https://shop.example.com:80/graphql/", "https://shop.example.com:80"),
        # an address in its standard form, however it is spelled
        ("https://93.184.216.34/graphql/", "https://93.184.216.34"),
        ("https://1572395042/graphql/", "https://93.184.216.34"),
        ("https://0x5d.0xb8.0xd8.0x22/graphql/", "https://93.184.216.34"),
        ("https://[::ffff:93.184.216.34]/graphql/", "https://93.184.216.34"),
        ("https://[2606:2800:0220:0001:0:0:0:0248]:443/", "https://[2606:2800:220:1::248]"),
        ("https://[2606:2800:220:1::248]:8443/", "https://[2606:2800:220:1::248]:8443"),
    ],
)
def test_every_spelling_of_a_server_is_one_server(url: str, server: str) -> None:
    assert url_form_problem(url) is None  # each of them is a URL the app may be given
    assert UrlParts.split(url).server == server
