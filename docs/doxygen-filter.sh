#!/bin/sh
# Doxygen input filter for the public headers: their comments are plain C
# comments, which Doxygen ignores, so present them as Doxygen comments
# without touching the headers. The first comment of a file describes the
# file; a comment after code on the same line describes that member; any
# other comment describes the declaration below it.
exec sed -e '1s|^/\* |/** @file\n |' \
         -e 's|^\([[:space:]]*[^[:space:]/*].*\)/\* |\1/**< |' \
         -e 's|^\([[:space:]]*\)/\* |\1/** |' "$1"
