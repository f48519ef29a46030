FROM debian:12
CMD ["bash"]
