from alpine as Builder
run echo hi
From alpine
Copy --from=BUILDER /etc/hosts /hosts
eNv a=b
