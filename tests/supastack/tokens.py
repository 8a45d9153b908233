"""JWTs as Supabase issues them (HS256 with the project's secret) and as PostgREST and Realtime check them.

PostgREST and Realtime disagree on what is acceptable and say it in different words, so verification
returns a `TokenProblem` that each side turns into its own answer.
"""

from __future__ import annotations

import enum
import time
from typing import Any

import jwt


def make_jwt(secret: str, role: str, *, expires_in: float = 3600, **claims: Any) -> str:
    """A token like Supabase's API keys (role, iss, iat, exp) or, with `sub`/`aud`/`email`, a user's."""
    now = int(time.time())
    payload: dict[str, Any] = {"iss": "supabase-stand-in", "role": role, "iat": now}
    payload["exp"] = now + int(expires_in)
    payload.update(claims)
    return jwt.encode(payload, secret, algorithm="HS256")


class TokenProblem(enum.Enum):
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad signature"
    EXPIRED = "expired"
    MISSING_CLAIMS = "missing role or exp"


class TokenError(Exception):
    def __init__(self, problem: TokenProblem, expired_for: int = 0) -> None:
        super().__init__(problem.value)
        self.problem = problem
        #: seconds since `exp` (EXPIRED only): Realtime's messages say "Token has expired N seconds ago".
        self.expired_for = expired_for


def verify(secret: str, token: str, *, require_role_and_exp: bool = False) -> dict[str, Any]:
    """The token's claims, or `TokenError`. `aud` is not checked: GoTrue's tokens carry `aud`."""
    if token.count(".") != 2:
        raise TokenError(TokenProblem.MALFORMED)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={"verify_aud": False, "verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.InvalidSignatureError as exc:
        raise TokenError(TokenProblem.BAD_SIGNATURE) from exc
    except jwt.InvalidAlgorithmError as exc:
        raise TokenError(TokenProblem.BAD_SIGNATURE) from exc
    except jwt.PyJWTError as exc:
        raise TokenError(TokenProblem.MALFORMED) from exc
    if require_role_and_exp and ("role" not in claims or not isinstance(claims.get("exp"), int)):
        raise TokenError(TokenProblem.MISSING_CLAIMS)
    exp = claims.get("exp")
    if isinstance(exp, (int, float)) and exp <= time.time():
        raise TokenError(TokenProblem.EXPIRED, int(time.time() - exp))
    return claims
