"""The exceptions of saleor-gordon, in one tree.

    GordonAppError
    ├── ConfigurationError          settings or a shop configuration cannot be used
    │   ├── ShopConfigInvalid       .details lists every problem found (ConfigProblem: path, message)
    │   ├── ShopNotConfigured       the shop has not stored a configuration yet
    │   └── ConfigChangedElsewhere  .based_on, .stored: a save based on a configuration since replaced
    ├── SecretsError                a stored secret cannot be decrypted (wrong SECRET_KEY?)
    ├── SaleorError
    │   ├── WebhookRejected         .code, .status_hint: a request that claims to come from Saleor is refused
    │   ├── RegistrationRefused     .code, .status_hint: an installation attempt is refused
    │   ├── DashboardRequestRefused .code, .status_hint: a request of the Dashboard pages is refused
    │   ├── SaleorUnavailable       network failure, timeout or 5xx from Saleor (retryable)
    │   ├── SaleorTokenRevoked      Saleor no longer accepts the app token (app removed or deactivated)
    │   └── SaleorGraphQLError      Saleor answered with GraphQL errors that retrying will not fix
    │       ├── SaleorPermissionDenied  the token works, but the app lacks a permission
    │       └── SaleorNotFound      a mutation's object is gone (NOT_FOUND): e.g. the order was deleted
    └── StoreError
        ├── StoreUnavailable        the database cannot be reached or is not migrated
        │   └── PruneCutShort       .pruned: the old history rows a prune deleted before it failed
        └── InstallationGone        the installation was deleted while a request for it was handled

Each class's docstring is its default message. Messages never contain secrets.

Gordon has no branch: the Gordon client never raises for what Gordon answers; it returns
``core.outcomes`` values (Accepted, Rejected, NotFound, Retryable) that the sync decides on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


class GordonAppError(Exception):
    """saleor-gordon failed."""

    def __init__(self, message: str | None = None) -> None:
        self.message = message or (self.__doc__ or "").strip()
        super().__init__(self.message)


class ConfigurationError(GordonAppError):
    """The configuration cannot be used."""


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One problem of a shop configuration: where (a JSON path such as ``delivery_groups[0].channel``,
    or ``(top level)``) and what is wrong with what to do about it.

    ``message`` is English for the command line and logs; ``code`` and ``params`` say the same as
    data for the Dashboard pages, which word it in the staff user's language (``core.messages``
    lists the codes). A problem without a code is shown with its English ``message``.
    """

    path: str
    message: str
    code: str | None = None
    params: Mapping[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ShopConfigInvalid(ConfigurationError):
    """The shop configuration is invalid."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.details = list(problems)
        self.problems = [str(problem) for problem in self.details]
        super().__init__("The shop configuration is invalid: " + "; ".join(self.problems))


class ShopNotConfigured(ConfigurationError):
    """The app is not configured for this shop yet: enter the Gordon credentials and delivery groups on the app's page in the Saleor Dashboard (Apps → Gordon Delivery)."""


class ConfigChangedElsewhere(ConfigurationError):
    """A save of the shop configuration was based on a version that is no longer stored: another
    save (the Dashboard elsewhere, ``saleor-gordon config set``) came in between. Nothing was
    stored; ``stored`` is the version stored now."""

    def __init__(self, based_on: int, stored: int) -> None:
        self.based_on = based_on
        self.stored = stored
        super().__init__(
            f"The configuration was saved elsewhere after version {based_on} was read "
            f"(version {stored} is stored now); nothing was stored."
        )


class SecretsError(GordonAppError):
    """A stored secret cannot be decrypted; is SALEOR_GORDON_SECRET_KEY the one it was stored with?"""


class SaleorError(GordonAppError):
    """Saleor could not be used."""


class WebhookRejected(SaleorError):
    """The webhook request was refused."""

    def __init__(self, code: str, message: str, *, status_hint: int = 400) -> None:
        self.code = code
        self.status_hint = status_hint
        super().__init__(message)


class RegistrationRefused(SaleorError):
    """The installation was refused."""

    def __init__(self, code: str, message: str, *, status_hint: int = 400) -> None:
        self.code = code
        self.status_hint = status_hint
        super().__init__(message)


class DashboardRequestRefused(SaleorError):
    """A request from the app's Dashboard pages was refused (token, permission or input).

    ``problems``: what the page shows beside each field (a configuration that does not validate).
    ``params``: what the page needs to word ``code`` in the staff user's language (``message`` is
    the English wording).
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status_hint: int = 400,
        problems: Sequence[ConfigProblem] = (),
        params: Mapping[str, object] | None = None,
    ) -> None:
        self.code = code
        self.status_hint = status_hint
        self.problems = list(problems)
        self.params = dict(params or {})
        super().__init__(message)


class SaleorUnavailable(SaleorError):
    """Saleor could not be reached or answered with a server error; try again later."""

    def __init__(self, message: str | None = None, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class SaleorTokenRevoked(SaleorError):
    """Saleor no longer accepts the app token; the app was removed or deactivated in the Dashboard."""


class SaleorGraphQLError(SaleorError):
    """Saleor refused the GraphQL request.

    ``saleor_message``: Saleor's own words (its GraphQL errors' messages), when it gave any;
    ``status``: the HTTP status of an answer that was not GraphQL. What a person reads is worded
    from these (``job.saleor_refused`` / ``job.saleor_refused_status``), never from ``message``,
    which names the app's operation.
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        saleor_message: str | None = None,
        status: int | None = None,
    ) -> None:
        self.saleor_message = saleor_message
        self.status = status
        super().__init__(message)


class SaleorPermissionDenied(SaleorGraphQLError):
    """Saleor accepts the app token but the app lacks a permission the request needs."""


class SaleorNotFound(SaleorGraphQLError):
    """Saleor no longer has the object a mutation names (every error it gave is ``NOT_FOUND``):
    it was deleted, e.g. the order while the app worked on it."""


class StoreError(GordonAppError):
    """The database failed."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or its migrations are not applied (run `saleor-gordon migrate`)."""


class PruneCutShort(StoreUnavailable):
    """The database failed while old history was pruned.

    ``message`` is the failure's; ``pruned`` counts the rows the prune's batches had deleted
    before it (each batch its own transaction: those stay deleted)."""

    def __init__(self, message: str, *, pruned: int) -> None:
        self.pruned = pruned
        super().__init__(message)


class InstallationGone(StoreError):
    """The installation was removed (the app was uninstalled) while this request was handled."""
