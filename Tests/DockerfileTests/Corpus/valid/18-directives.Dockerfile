# syntax=docker/dockerfile:1.7
# check=skip=JSONArgsRecommended
  # escape=\
# this comment ends the directives
# escape=`
FROM alpine
RUN echo a \
    b
