FROM alpine
RUN echo one \

    two \
    # comment in the middle

    three
