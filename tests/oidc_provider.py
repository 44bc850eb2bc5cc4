"""A real OpenID Provider on loopback, built with Authlib's own authorization-server classes: discovery, JWKS,
the authorization code grant with PKCE and nonce, RSA-signed ID tokens. Knobs let a test make it misbehave."""

from __future__ import annotations

import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from conftest import free_port
from flask import Flask, jsonify
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server

os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # loopback over plain HTTP, in tests only

CLIENT_ID, CLIENT_SECRET = "farewell", "s3cret-of-the-client"


@dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uris: list[str]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return scope

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: dict[str, Any]
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None

    def is_expired(self) -> bool:
        return False


class Provider:
    """`user` is who signs in at the authorization endpoint (no login page: the test decides); `claims` overrides
    ID token claims (aud, exp, nonce…); `kid` is the key that signs, `published` the keys the JWKS shows."""

    def __init__(self) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.keys = {"k1": RSAKey.generate_key(2048, parameters={"kid": "k1"})}
        self.kid = "k1"
        self.published = ["k1"]
        self.jwks_fetches = 0
        self.user: dict[str, Any] = {}
        self.claims: dict[str, Any] = {}
        self.codes: dict[str, Code] = {}
        self.redirect_uris: list[str] = []
        self.app = self._build()

    def rotate(self, kid: str) -> None:
        self.keys[kid] = RSAKey.generate_key(2048, parameters={"kid": kid})
        self.kid, self.published = kid, [kid]

    def _build(self) -> Flask:
        app = Flask("oidc-provider")
        app.config["SECRET_KEY"] = "provider"
        provider = self

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code: str, request: Any) -> Code:
                row = Code(
                    code,
                    request.client.client_id,
                    request.payload.redirect_uri,
                    request.payload.scope,
                    provider.user,
                    request.payload.data.get("nonce"),
                    request.payload.data.get("code_challenge"),
                    request.payload.data.get("code_challenge_method"),
                )
                provider.codes[code] = row
                return row

            def query_authorization_code(self, code: str, client: Client) -> Code | None:
                row = provider.codes.get(code)
                return row if row and row.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code: Code) -> None:
                provider.codes.pop(authorization_code.code, None)  # a code is used once

            def authenticate_user(self, authorization_code: Code) -> dict[str, Any]:
                return authorization_code.user

        class Code_(OpenIDCode):
            def exists_nonce(self, nonce: str, request: Any) -> bool:
                return False

            def resolve_client_private_key(self, client: Client) -> RSAKey:
                return provider.keys[provider.kid]

            def get_client_algorithm(self, client: Client) -> str:
                return "RS256"

            def get_encode_header(self, client: Client) -> dict[str, str]:
                return {"alg": "RS256", "kid": provider.kid}

            def get_client_claims(self, client: Client) -> dict[str, Any]:
                now = int(time.time())
                claims = {"iss": provider.issuer, "aud": [client.client_id], "exp": now + 300}
                claims.update({k: v for k, v in provider.claims.items() if k in ("iss", "aud", "exp")})
                return claims

            def generate_user_info(self, user: dict[str, Any], scope: str) -> UserInfo:
                info = UserInfo(sub=user["email"], email=user["email"], email_verified=user.get("verified", True))
                info["name"] = user.get("name", "")
                for name, value in user.get("extra", {}).items():
                    info[name] = value
                if "nonce" in provider.claims:
                    info["nonce"] = provider.claims["nonce"]
                return info

        def query_client(client_id: str) -> Client | None:
            return Client(CLIENT_ID, CLIENT_SECRET, provider.redirect_uris) if client_id == CLIENT_ID else None

        server = AuthorizationServer(app, query_client=query_client, save_token=lambda token, request: None)
        server.register_grant(CodeGrant, [Code_(require_nonce=True), CodeChallenge(required=True)])

        @app.get("/.well-known/openid-configuration")
        def discovery() -> Any:
            return jsonify(
                issuer=provider.issuer,
                authorization_endpoint=provider.issuer + "/authorize",
                token_endpoint=provider.issuer + "/token",
                jwks_uri=provider.issuer + "/jwks",
                response_types_supported=["code"],
                id_token_signing_alg_values_supported=["RS256"],
                code_challenge_methods_supported=["S256"],
            )

        @app.get("/jwks")
        def jwks() -> Any:
            provider.jwks_fetches += 1
            return jsonify(KeySet([provider.keys[k] for k in provider.published]).as_dict(private=False))

        @app.get("/authorize")
        def authorize() -> Any:
            grant = server.get_consent_grant(end_user=provider.user)  # validates the request, as a consent page does
            return server.create_authorization_response(grant_user=provider.user, grant=grant)

        @app.post("/token")
        def token() -> Any:
            return server.create_token_response()

        return app

    def __enter__(self) -> Provider:
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join()
