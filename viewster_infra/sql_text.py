"""A statement's text as the report may show it: its shape, never a value from it (a query may carry personal data).

Performance Insights already gives PostgreSQL's statements normalised by pg_stat_statements ($1 for each constant),
but not every statement is: a utility statement (DO, CREATE ... AS) and a function's body keep their text. So every
statement is tokenised (sqlparse) and each literal, string, number or dollar-quoted body, becomes `?`, comments are
dropped, and whitespace is collapsed. Quoted identifiers ("Users") are names, not values, and stay.
"""

from __future__ import annotations

import sqlparse
from sqlparse import tokens

MAX_CHARACTERS = 300


def normalised(statement: str, limit: int = MAX_CHARACTERS) -> str:
    parts = []
    for token in sqlparse.parse(statement)[0].flatten() if statement.strip() else []:
        if token.ttype in tokens.Comment:
            continue
        if token.ttype in tokens.Literal and token.ttype is not tokens.Literal.String.Symbol:
            parts.append("?")
        else:
            parts.append(token.value)
    text = " ".join("".join(parts).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
