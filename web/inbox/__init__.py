"""The inbox screen: ``views`` (the blueprint), ``query`` (which open tasks a view shows, and their page),
``keyset`` (keyset pages and capped counts), ``filters`` (the query string), ``saved`` (saved filters) and
``names`` (distinct names of an indexed column, for the filters' choices)."""
