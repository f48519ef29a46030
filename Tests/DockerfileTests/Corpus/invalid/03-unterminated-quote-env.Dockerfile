FROM alpine
ENV A="unterminated value
