#!/bin/sh
# Entrypoint of a lambda-builder stand-in image (built by scripts/build-standin-images).
#
# In a real public.ecr.aws/lambda/python image, /lambda-entrypoint.sh takes a handler name and
# starts the Lambda runtime interface client; it never runs an arbitrary command. Code that runs
# build steps in a Lambda image must therefore override the entrypoint. This stand-in makes
# forgetting to do so visible:
#   - without arguments, or when the first argument is not an executable command, it prints an
#     explanation to stderr and exits 1;
#   - when the first argument is an executable command, it prints a warning to stderr and execs it
#     (handy for poking at the image by hand; a real Lambda image would not do this).
set -u

if [ "$#" -gt 0 ] && command -v -- "$1" >/dev/null 2>&1; then
    echo "lambda-entrypoint.sh (lambda-builder stand-in): WARNING: entrypoint not overridden;" \
        "running '$1' here, a real Lambda image would start the runtime interface client" >&2
    exec "$@"
fi

{
    echo "lambda-entrypoint.sh (lambda-builder stand-in): this image mimics a Lambda base image."
    echo "A real Lambda image would start the runtime interface client for handler '${1:-<none>}'."
    echo "This stand-in has no runtime; override the entrypoint, e.g."
    echo "    docker run --entrypoint /var/lang/bin/python3 IMAGE -c 'print(1)'"
} >&2
exit 1
