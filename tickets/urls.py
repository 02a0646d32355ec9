from django.urls import path

from tickets import views

urlpatterns = [
    path("", views.home, name="home"),
    path("projects/", views.project_list, name="project-list"),
    path("p/<str:key>/", views.project_home, name="project-home"),
    path("p/<str:key>/members/", views.members, name="members"),
    path("p/<str:key>/members/<str:username>/role/", views.member_role, name="member-role"),
    path("p/<str:key>/members/<str:username>/remove/", views.member_remove, name="member-remove"),
]
