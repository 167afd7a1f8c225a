#!/bin/sh
# Re-extract the web's strings into messages.pot and merge them into every catalogue (then translate the new
# msgids in web/translations/*/LC_MESSAGES/messages.po). `make install` compiles the catalogues.
set -e
BIN=${BIN:-.venv/bin}
"$BIN/pybabel" extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o web/translations/messages.pot .
"$BIN/pybabel" update --no-fuzzy-matching -i web/translations/messages.pot -d web/translations
