ARG BASE=alpine
ARG TAG
FROM ${BASE}:${TAG:-3.20}
ARG A B=two C="three four"
ENV X=1 Y="a b" Z=a\ b
ENV LEGACY some value with  spaces
ENV EMPTY=""
